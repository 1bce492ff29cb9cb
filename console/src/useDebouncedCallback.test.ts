import { cleanup, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useDebouncedCallback } from './useDebouncedCallback';

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('useDebouncedCallback', () => {
  it('calls once, with the last arguments, after the calls pause', () => {
    const search = vi.fn();
    const { result } = renderHook(() => useDebouncedCallback(search, 250));
    result.current('r');
    vi.advanceTimersByTime(200);
    result.current('re');
    vi.advanceTimersByTime(200);
    result.current('ret');
    expect(search).not.toHaveBeenCalled();
    vi.advanceTimersByTime(250);
    expect(search).toHaveBeenCalledTimes(1);
    expect(search).toHaveBeenCalledWith('ret');
  });

  it('drops a pending call when the component goes away', () => {
    const search = vi.fn();
    const { result, unmount } = renderHook(() => useDebouncedCallback(search, 250));
    result.current('returns');
    unmount();
    vi.advanceTimersByTime(1000);
    expect(search).not.toHaveBeenCalled();
  });
});
