import { describe, expect, it, vi } from 'vitest';
import { ApiError } from './errors';
import { createApi, unwrap } from './client';

function json(status: number, body: unknown, type = 'application/json'): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

function setup(respond: (request: Request) => Response, token: string | null = 'session-token') {
  const seen: Request[] = [];
  const onUnauthorized = vi.fn();
  const api = createApi({
    baseUrl: 'http://console.test',
    getToken: () => token,
    onUnauthorized,
    fetch: async (request) => {
      seen.push(request);
      return respond(request);
    },
  });
  return { api, seen, onUnauthorized };
}

describe('the API client', () => {
  it('sends the session bearer token and returns the data', async () => {
    const { api, seen } = setup(() => json(200, { username: 'ada', role: 'admin' }));
    await expect(unwrap(api.GET('/api/v1/auth/me'))).resolves.toEqual({ username: 'ada', role: 'admin' });
    expect(seen[0]?.headers.get('Authorization')).toBe('Bearer session-token');
  });

  it('sends no Authorization header without a session', async () => {
    const { api, seen } = setup(() => json(200, { username: 'ada', role: 'admin' }), null);
    await unwrap(api.GET('/api/v1/auth/me'));
    expect(seen[0]?.headers.has('Authorization')).toBe(false);
  });

  it('ends the session on a 401 from any call', async () => {
    const { api, onUnauthorized } = setup(() =>
      json(401, { type: 'x', title: 'Not authenticated', status: 401, detail: 'The session has ended.' }, 'application/problem+json'),
    );
    await expect(unwrap(api.GET('/api/v1/integrations'))).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('does not treat a wrong password as an ended session', async () => {
    const { api, onUnauthorized } = setup(() =>
      json(401, { type: 'x', title: 'Not authenticated', status: 401, detail: 'Wrong username or password.' }, 'application/problem+json'),
    );
    const call = api.POST('/api/v1/auth/token', {
      body: { username: 'ada', password: 'nope', scope: '' },
      bodySerializer: (body) => new URLSearchParams({ username: body.username, password: body.password }),
    });
    await expect(unwrap(call)).rejects.toThrow('Wrong username or password.');
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('maps problem+json field errors', async () => {
    const { api } = setup(() =>
      json(
        422,
        { type: 'x', title: 'Invalid input', status: 422, detail: 'invalid', errors: [{ loc: ['body', 'notification_email'], msg: 'not an email' }] },
        'application/problem+json',
      ),
    );
    const error = await unwrap(api.POST('/api/v1/integrations', { body: { name: 'a', description: '', notification_email: 'b', active: true } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).fieldErrors).toEqual({ notification_email: 'not an email' });
  });

  it('turns a network failure into a transient error', async () => {
    const { api } = setup(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await unwrap(api.GET('/api/v1/auth/me')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(0);
    expect((error as ApiError).transient).toBe(true);
  });

  it('accepts an empty 204', async () => {
    const { api } = setup(() => new Response(null, { status: 204 }));
    await expect(unwrap(api.POST('/api/v1/auth/logout'))).resolves.toBeUndefined();
  });
});
