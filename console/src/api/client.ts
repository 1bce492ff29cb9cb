// The one way the console talks to the API: a typed openapi-fetch client generated from
// the committed openapi.yaml, with the session's bearer token and the 401 rule attached.
import createClient, { type Client } from 'openapi-fetch';
import { ApiError, networkError, toApiError } from './errors';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Integration = Schemas['IntegrationOut'];
export type Token = Schemas['TokenOut'];
export type TokenStatus = Schemas['TokenStatus'];
export type ExpirationPolicy = Schemas['ExpirationPolicy'];
export type IssuedToken = Schemas['IssuedTokenOut'];
export type MassRevokeResult = Schemas['MassRevokeResult'];
export type IntrospectionClient = Schemas['IntrospectionClientOut'];
export type IntrospectionClientCreated = Schemas['IntrospectionClientCreated'];
export type AuditEvent = Schemas['AuditEventOut'];
export type LeakResult = Schemas['LeakResult'];
export type Me = Schemas['MeOut'];
export type ApiClient = Client<paths>;

export const LOGIN_PATH = '/api/v1/auth/token';

export interface ApiOptions {
  getToken: () => string | null;
  /** Called when a call made with a session answers 401: the session has ended. */
  onUnauthorized: () => void;
  fetch?: (input: Request) => Promise<Response>;
  baseUrl?: string;
}

export function createApi(options: ApiOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? '',
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use({
    onRequest({ request }) {
      const token = options.getToken();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ request, response }) {
      const isLogin = new URL(request.url, 'http://x').pathname === LOGIN_PATH;
      if (response.status === 401 && !isLogin) options.onUnauthorized();
      return response;
    },
  });
  return client;
}

type FetchResult<T> = { data?: T; error?: unknown; response: Response };

/** The data of a successful call; otherwise throws an {@link ApiError} worded for people. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw networkError();
  }
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) throw toApiError(response.status, error);
  return data as T;
}
