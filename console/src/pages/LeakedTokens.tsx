import { Field } from '../components/Field';
import { useState } from 'react';
import { unwrap, type LeakResult } from '../api/client';
import { messageOf } from '../api/errors';
import { useIsAdmin } from '../App';
import { api } from '../session';

export const MAX_SECRETS = 1000;

/** The non-empty lines of the text area, without duplicates. */
export function secretsOf(text: string): string[] {
  return [...new Set(text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean))];
}

export function LeakedTokens() {
  const admin = useIsAdmin();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<LeakResult | null>(null);
  const secrets = secretsOf(text);

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (secrets.length === 0) return setError('Paste at least one secret.');
    if (secrets.length > MAX_SECRETS) return setError(`At most ${MAX_SECRETS} secrets at a time; you pasted ${secrets.length}.`);
    setBusy(true);
    setError(null);
    try {
      setResult(await unwrap(api.POST('/api/v1/leaked-tokens', { body: { secrets } })));
      setText(''); // the secrets leave the page as soon as they are reported
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Leaked tokens</h1>
      <p className="lead">
        Found access tokens in a log, a repository or a ticket? Paste them here: ours are revoked at once with the reason
        "leaked" and their integrations are notified. The answer never says whose they were.
      </p>
      {admin ? (
        <form onSubmit={(event) => void submit(event)} noValidate>
          <Field label="Secrets">
            {(id) => (
              <>
                <textarea id={id}
                  value={text}
                  onChange={(event) => setText(event.currentTarget.value)}
                  rows={8}
                  className="mono"
                  autoComplete="off"
                  spellCheck={false}
                  placeholder="ssg_…"
                />
                <small>
                  One per line, up to {MAX_SECRETS}. {secrets.length > 0 ? `${secrets.length} pasted.` : ''}
                </small>
              </>
            )}
          </Field>
          {error && (
            <p role="alert" className="field-error">
              {error}
            </p>
          )}
          <button type="submit" className="danger auto" aria-busy={busy} disabled={busy}>
            Revoke leaked tokens
          </button>
        </form>
      ) : (
        <p className="notice">Only an admin can report leaked tokens.</p>
      )}
      {result && (
        <section aria-label="Result" role="status" className="result">
          <h2 className="result-title">Last report</h2>
          <dl className="counts-grid">
            <div>
              <dt>Revoked</dt>
              <dd>{result.revoked}</dd>
            </div>
            <div>
              <dt>Already inactive</dt>
              <dd>{result.already_inactive}</dd>
            </div>
            <div>
              <dt>Unknown</dt>
              <dd>{result.unknown}</dd>
            </div>
          </dl>
        </section>
      )}
    </>
  );
}
