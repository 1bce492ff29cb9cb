import { Field } from '../components/Field';
import { useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { createApi, unwrap } from '../api/client';
import { messageOf } from '../api/errors';
import { session, useSession } from '../session';

/** Only same-app paths: never an absolute URL from the query string. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/sign-in')) return '/';
  return next;
}

export function SignIn() {
  const { token, notice } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const next = safeNext(params.get('next'));

  if (token && session.get().user) return <Navigate to={next} replace />;

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const username = String(form.get('username') ?? '');
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      const login = await unwrap(
        api0.POST('/api/v1/auth/token', {
          body: { username, password, scope: '' },
          bodySerializer: (body) => new URLSearchParams({ username: body.username, password: body.password }),
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        }),
      );
      const bearer = login.access_token;
      const me = await unwrap(
        createApi({ getToken: () => bearer, onUnauthorized: () => undefined }).GET('/api/v1/auth/me'),
      );
      session.signedIn(bearer, me);
      navigate(next, { replace: true });
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <main className="container narrow">
      <article>
        <header>
          <h1>Global Integrations</h1>
          <p>Sign in to manage custom global integrations and their access tokens.</p>
        </header>
        {notice && !error && (
          <p role="alert" className="notice">
            {notice}
          </p>
        )}
        <form onSubmit={(event) => void submit(event)}>
          <Field label="Username">
            {(id) => (
              <>
                <input id={id} name="username" autoComplete="username" required autoFocus />
              </>
            )}
          </Field>
          <Field label="Password">
            {(id) => (
              <>
                <input id={id} name="password" type="password" autoComplete="current-password" required />
              </>
            )}
          </Field>
          {error ? (
            <p role="alert" className="field-error">
              {messageOf(error)}
            </p>
          ) : null}
          <button type="submit" aria-busy={busy} disabled={busy}>
            Sign in
          </button>
        </form>
      </article>
    </main>
  );
}

// The login call carries no session and its 401 means "wrong password", not "session ended".
const api0 = createApi({ getToken: () => null, onUnauthorized: () => undefined });
