import { describe, expect, it } from 'vitest';
import { safeNext } from './SignIn';
import { secretsOf } from './LeakedTokens';

describe('safeNext', () => {
  it('returns to a page of the console only', () => {
    expect(safeNext('/integrations/1?x=2')).toBe('/integrations/1?x=2');
    expect(safeNext(null)).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext('//evil.example/')).toBe('/');
    expect(safeNext('/sign-in?next=/x')).toBe('/');
  });
});

describe('secretsOf', () => {
  it('takes one secret a line, trimmed, without blanks or repeats', () => {
    expect(secretsOf(' ssg_a \r\n\nssg_b\nssg_a\n')).toEqual(['ssg_a', 'ssg_b']);
  });
});
