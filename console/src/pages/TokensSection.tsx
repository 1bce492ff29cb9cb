import { Field } from '../components/Field';
import { useState } from 'react';
import { Link } from 'react-router';
import { unwrap, type Integration, type IssuedToken, type MassRevokeResult, type Schemas } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import { useIsAdmin } from '../App';
import { StatusBadge, Time } from '../components/Badges';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Dialog } from '../components/Dialog';
import { Pagination } from '../components/Pagination';
import { PolicyFields, type PolicyChoice } from '../components/PolicyFields';
import { SecretDialog } from '../components/SecretDialog';
import { Async, Empty, FieldError } from '../components/States';
import { localInputToIso } from '../format';
import { api } from '../session';
import { useApi } from '../useApi';

const PAGE_SIZE = 50;
type Status = Schemas['TokenStatus'];

export function TokensSection({ integration }: { integration: Integration }) {
  const admin = useIsAdmin();
  const [status, setStatus] = useState<Status | ''>('');
  const [offset, setOffset] = useState(0);
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [adding, setAdding] = useState(false);
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [confirmMass, setConfirmMass] = useState(false);
  const [result, setResult] = useState<MassRevokeResult | null>(null);
  const path = { integration_id: integration.id };

  const tokens = useApi(`tokens/${integration.id}/${status}/${offset}/${version}`, () =>
    unwrap(
      api.GET('/api/v1/integrations/{integration_id}/tokens', {
        params: { path, query: { ...(status ? { status } : {}), limit: PAGE_SIZE, offset } },
      }),
    ),
  );
  const reload = () => setVersion((v) => v + 1);
  const items = tokens.data?.items ?? [];
  const allSelected = items.length > 0 && items.every((t) => selected.has(t.id));

  function toggle(id: string) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  }

  return (
    <section aria-labelledby="tokens-heading" className="tokens">
      <div className="page-head">
        <h2 id="tokens-heading">Access Tokens</h2>
        {admin && (
          <button type="button" onClick={() => setAdding(true)}>
            Add Access Token
          </button>
        )}
      </div>
      <div className="filters">
        <Field label="Status">
          {(id) => (
            <>
              <select id={id}
                value={status}
                onChange={(event) => {
                  setStatus(event.currentTarget.value as Status | '');
                  setOffset(0);
                  setSelected(new Set());
                }}
              >
                <option value="">All</option>
                <option value="active">Active</option>
                <option value="expired">Expired</option>
                <option value="revoked">Revoked</option>
              </select>
            </>
          )}
        </Field>
        {admin && selected.size > 0 && (
          <button type="button" className="danger" onClick={() => setConfirmMass(true)}>
            Revoke selected
          </button>
        )}
      </div>
      {result && (
        <p role="status" className="notice">
          {result.revoked.length} revoked, {result.already_inactive.length} already inactive
          {result.not_found.length > 0 ? `, ${result.not_found.length} not found` : ''}.
        </p>
      )}
      <Async state={tokens}>
        {(page) =>
          page.total === 0 && offset === 0 ? (
            <Empty>
              {status ? 'No token has this status.' : admin ? 'No access tokens yet. Add Access Token to issue one.' : 'No access tokens yet.'}
            </Empty>
          ) : (
            <>
              <div className="table-wrap">
                <table className="striped">
                  <thead>
                    <tr>
                      {admin && (
                        <th scope="col" className="check">
                          <input
                            type="checkbox"
                            aria-label="Select all"
                            checked={allSelected}
                            onChange={() => setSelected(allSelected ? new Set() : new Set(page.items.map((t) => t.id)))}
                          />
                        </th>
                      )}
                      <th scope="col">Name</th>
                      <th scope="col">Hint</th>
                      <th scope="col">Status</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((token) => (
                      <tr key={token.id}>
                        {admin && (
                          <td className="check">
                            <input
                              type="checkbox"
                              aria-label={`Select ${token.name}`}
                              checked={selected.has(token.id)}
                              onChange={() => toggle(token.id)}
                            />
                          </td>
                        )}
                        <td>
                          <Link to={`/integrations/${integration.id}/tokens/${token.id}`}>{token.name}</Link>
                        </td>
                        <td className="mono">{token.hint}</td>
                        <td>
                          <StatusBadge token={token} />
                        </td>
                        <td>{token.expires_at ? <Time iso={token.expires_at} /> : 'Never'}</td>
                        <td>{token.last_used_at ? <Time iso={token.last_used_at} /> : 'Never'}</td>
                        <td>
                          <Time iso={token.created_at} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination total={page.total} offset={offset} limit={PAGE_SIZE} noun="tokens" onOffset={setOffset} />
            </>
          )
        }
      </Async>
      {adding && (
        <AddTokenDialog
          integrationId={integration.id}
          onClose={() => setAdding(false)}
          onIssued={(value) => {
            setAdding(false);
            setIssued(value);
            reload();
          }}
        />
      )}
      {issued && (
        <SecretDialog
          title={`Access token ${issued.token.name} issued`}
          secret={{ label: 'Access token', value: issued.secret }}
          onDone={() => setIssued(null)}
        />
      )}
      {confirmMass && (
        <ConfirmDialog
          title={`Revoke ${selected.size} ${selected.size === 1 ? 'token' : 'tokens'}?`}
          confirmLabel="Revoke"
          onClose={() => setConfirmMass(false)}
          onConfirm={async () => {
            const answer = await unwrap(
              api.POST('/api/v1/integrations/{integration_id}/tokens/revoke', {
                params: { path },
                body: { token_ids: [...selected] },
              }),
            );
            setResult(answer);
            setSelected(new Set());
            setConfirmMass(false);
            reload();
          }}
        >
          <p>
            The {selected.size} selected {selected.size === 1 ? 'token stops' : 'tokens stop'} working at once. Applications
            using {selected.size === 1 ? 'it' : 'them'} are refused. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function AddTokenDialog({
  integrationId,
  onClose,
  onIssued,
}: {
  integrationId: string;
  onClose: () => void;
  onIssued: (issued: IssuedToken) => void;
}) {
  const [name, setName] = useState('');
  const [choice, setChoice] = useState<PolicyChoice>({ policy: '', expiresAt: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldErrors: Record<string, string> = error instanceof ApiError ? { ...error.fieldErrors } : {};
  const general = error && Object.keys(fieldErrors).length === 0 ? messageOf(error) : null;

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!choice.policy) {
      setError(new ApiError(422, 'Choose an expiration policy.', '', { expiration_policy: 'Choose an expiration policy.' }));
      return;
    }
    const expiresAt = choice.policy === 'custom' ? localInputToIso(choice.expiresAt) : null;
    if (choice.policy === 'custom' && !expiresAt) {
      setError(new ApiError(422, 'Choose when it expires.', '', { expires_at: 'Choose when it expires.' }));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const issued = await unwrap(
        api.POST('/api/v1/integrations/{integration_id}/tokens', {
          params: { path: { integration_id: integrationId } },
          body: { name: name.trim(), expiration_policy: choice.policy, ...(expiresAt ? { expires_at: expiresAt } : {}) },
        }),
      );
      onIssued(issued);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <Dialog title="Add Access Token" onCancel={() => !busy && onClose()}>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Name">
          {(id) => (
            <>
              <input id={id}
                value={name}
                onChange={(event) => setName(event.currentTarget.value)}
                required
                maxLength={200}
                autoFocus
                aria-invalid={fieldErrors.name ? true : undefined}
              />
              <small>Where it is used, e.g. "production ERP sync".</small>
              <FieldError id="add-token-name-error" message={fieldErrors.name} />
            </>
          )}
        </Field>
        <PolicyFields value={choice} onChange={setChoice} errors={fieldErrors} idPrefix="add-token" />
        {general && (
          <p role="alert" className="field-error">
            {general}
          </p>
        )}
        <footer>
          <button type="button" className="secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" aria-busy={busy} disabled={busy}>
            Save Global API Access Token
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
