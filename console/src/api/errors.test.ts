import { describe, expect, it } from 'vitest';
import { ApiError, fieldErrorsOf, fieldOf, toApiError, UNAVAILABLE_MESSAGE } from './errors';

describe('fieldOf', () => {
  it('drops the location root', () => {
    expect(fieldOf(['body', 'notification_email'])).toBe('notification_email');
    expect(fieldOf(['query', 'limit'])).toBe('limit');
    expect(fieldOf(['body', 'token_ids', 3])).toBe('token_ids.3');
    expect(fieldOf(['body'])).toBe('');
  });
});

describe('fieldErrorsOf', () => {
  it('maps each field to its first message and ignores junk', () => {
    const problem = {
      errors: [
        { loc: ['body', 'name'], msg: 'too long' },
        { loc: ['body', 'name'], msg: 'second' },
        { loc: ['body', 'notification_email'], msg: 'not an email' },
        { loc: 'body', msg: 'not a list' },
        null,
      ],
    };
    expect(fieldErrorsOf(problem)).toEqual({ name: 'too long', notification_email: 'not an email' });
    expect(fieldErrorsOf(undefined)).toEqual({});
    expect(fieldErrorsOf({ errors: 'x' })).toEqual({});
  });
});

describe('toApiError', () => {
  it('says the service is unavailable on 503 and that it is worth retrying', () => {
    const error = toApiError(503, { title: 'Service unavailable', detail: 'database down' });
    expect(error.message).toBe(UNAVAILABLE_MESSAGE);
    expect(error.transient).toBe(true);
  });

  it("shows the API's own detail", () => {
    const error = toApiError(401, { title: 'Not authenticated', status: 401, detail: 'Wrong username or password.' });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe('Wrong username or password.');
    expect(error.transient).toBe(false);
  });

  it('keeps field errors of a 422', () => {
    const error = toApiError(422, {
      title: 'Invalid input',
      detail: '1 field is not valid',
      errors: [{ loc: ['body', 'name'], msg: 'required' }],
    });
    expect(error.fieldErrors).toEqual({ name: 'required' });
  });

  it('has words for a body that is not a problem', () => {
    expect(toApiError(404, null).message).toMatch(/Not found/);
    expect(toApiError(403, 'oops').message).toMatch(/role/);
    expect(toApiError(418, undefined).message).toBe('The request failed (HTTP 418).');
  });
});
