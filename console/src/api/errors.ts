// Problem details (RFC 9457) from the API, turned into something a screen can show.

export const UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; retrying';
export const SESSION_ENDED_MESSAGE = 'Your session has ended';
export const UNREACHABLE_MESSAGE = 'Cannot reach the service. Check your connection; retrying';

export interface ProblemLike {
  title?: unknown;
  detail?: unknown;
  errors?: unknown;
}

/** An API call that did not succeed. `fieldErrors` maps a field name to its message. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly fieldErrors: Readonly<Record<string, string>>;

  constructor(status: number, message: string, title = '', fieldErrors: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.fieldErrors = fieldErrors;
  }

  /** The service or the network may come back by itself: worth retrying. */
  get transient(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

const LOCATION_ROOTS = new Set(['body', 'query', 'path', 'header']);

/** `["body", "notification_email"]` -> `"notification_email"`; `["body"]` -> `""`. */
export function fieldOf(loc: readonly unknown[]): string {
  const parts = loc.map(String);
  if (parts.length > 0 && LOCATION_ROOTS.has(parts[0] ?? '')) parts.shift();
  return parts.join('.');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function fieldErrorsOf(problem: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!isObject(problem) || !Array.isArray(problem.errors)) return result;
  for (const item of problem.errors) {
    if (!isObject(item) || !Array.isArray(item.loc) || typeof item.msg !== 'string') continue;
    const field = fieldOf(item.loc);
    if (!(field in result)) result[field] = item.msg;
  }
  return result;
}

/** The words a person sees for a failed call with this status and body. */
export function toApiError(status: number, body: unknown): ApiError {
  if (status === 503 || status === 502 || status === 504) {
    return new ApiError(status, UNAVAILABLE_MESSAGE, 'Service unavailable');
  }
  const problem: ProblemLike = isObject(body) ? body : {};
  const title = typeof problem.title === 'string' ? problem.title : '';
  const detail = typeof problem.detail === 'string' ? problem.detail : '';
  let message = detail || title;
  if (!message) {
    message =
      status === 403
        ? 'Your role may not do this.'
        : status === 404
          ? 'Not found: it may have been deleted.'
          : `The request failed (HTTP ${status}).`;
  }
  return new ApiError(status, message, title, fieldErrorsOf(body));
}

export function networkError(): ApiError {
  return new ApiError(0, UNREACHABLE_MESSAGE, 'Network error');
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong in the console. Reload the page.';
}
