import { ApiError, messageOf } from '../api/errors';

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return (
    <p role="status" aria-busy="true">
      {what}
    </p>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A failed load; a 503 says it is retrying by itself, and every error offers Retry. */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <div role="alert" className="error-state">
      <p>{status === 404 ? 'Not found: it may have been deleted.' : messageOf(error)}</p>
      {onRetry && status !== 404 && (
        <button type="button" className="secondary" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Renders loading / error / content for one {@link useApi} result. */
export function Async<T>({
  state,
  children,
}: {
  state: { data: T | undefined; error: unknown; loading: boolean; reload: () => void };
  children: (data: T) => React.ReactNode;
}) {
  if (state.error && (state.data === undefined || !(state.error instanceof ApiError) || !state.error.transient)) {
    return <ErrorState error={state.error} onRetry={state.reload} />;
  }
  if (state.data === undefined) return <Loading />;
  return (
    <>
      {state.error ? <ErrorState error={state.error} onRetry={state.reload} /> : null}
      {children(state.data)}
    </>
  );
}

export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <small id={id} className="field-error" role="alert">
      {message}
    </small>
  );
}
