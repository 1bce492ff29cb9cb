import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SecretDialog } from './SecretDialog';

afterEach(cleanup);

function renderDialog(writeText = vi.fn(async () => undefined)) {
  const onDone = vi.fn();
  render(
    <SecretDialog
      title="Access token issued"
      secret={{ label: 'Access token', value: 'ssg_secret' }}
      onDone={onDone}
      clipboard={{ writeText }}
    />,
  );
  return { onDone, writeText };
}

describe('the one-time secret dialog', () => {
  it('shows the secret read-only, once', () => {
    renderDialog();
    const field = screen.getByLabelText('Access token');
    expect(field).toHaveProperty('value', 'ssg_secret');
    expect(field).toHaveProperty('readOnly', true);
    expect(screen.getByText(/You will be presented with the access token only this one time/)).toBeDefined();
  });

  it('asks again when closed before copying', async () => {
    const { onDone } = renderDialog();
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(onDone).not.toHaveBeenCalled();
    expect(screen.getByText(/You have not copied the access token/)).toBeDefined();
    await userEvent.click(screen.getByRole('button', { name: 'Go back' }));
    expect(screen.queryByText(/You have not copied/)).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));
    await userEvent.click(screen.getByRole('button', { name: 'Close without copying' }));
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('copies with the Clipboard API, confirms, then closes at once', async () => {
    const { onDone, writeText } = renderDialog();
    await userEvent.click(screen.getByRole('button', { name: 'Copy access token' }));
    expect(writeText).toHaveBeenCalledWith('ssg_secret');
    expect(screen.getByRole('status').textContent).toBe('Copied');
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('names what its Copy button copies when it shows more than the secret', async () => {
    const writeText = vi.fn(async () => undefined);
    render(
      <SecretDialog
        title="Gateway credential created"
        secret={{ label: 'Client secret', value: 'ssc_secret' }}
        extra={[{ label: 'Client ID', value: 'client-id' }]}
        noun="client secret"
        onDone={vi.fn()}
        clipboard={{ writeText }}
      />,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Copy client secret' }));
    expect(writeText).toHaveBeenCalledWith('ssc_secret');
  });

  it('says so when the browser refuses to copy, and still asks before closing', async () => {
    const { onDone } = renderDialog(vi.fn(async () => Promise.reject(new Error('denied'))));
    await userEvent.click(screen.getByRole('button', { name: 'Copy access token' }));
    expect(screen.getByText(/did not allow copying/)).toBeDefined();
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(onDone).not.toHaveBeenCalled();
  });

  it('treats Escape like Done', async () => {
    const { onDone } = renderDialog();
    screen.getByRole('dialog', { hidden: true }).dispatchEvent(new Event('cancel', { cancelable: true }));
    expect(await screen.findByText(/You have not copied/)).toBeDefined();
    expect(onDone).not.toHaveBeenCalled();
  });
});
