import { Field } from '../components/Field';
import { useState } from 'react';
import { unwrap, type IntrospectionClient, type IntrospectionClientCreated } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import { useIsAdmin } from '../App';
import { Time } from '../components/Badges';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Dialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { Async, Empty, FieldError } from '../components/States';
import { api } from '../session';
import { useApi } from '../useApi';

export function GatewayCredentials() {
  const admin = useIsAdmin();
  const [version, setVersion] = useState(0);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<IntrospectionClientCreated | null>(null);
  const [revoking, setRevoking] = useState<IntrospectionClient | null>(null);
  const clients = useApi(`clients/${version}`, () =>
    unwrap(api.GET('/api/v1/introspection-clients', { params: { query: { limit: 500 } } })),
  );
  const reload = () => setVersion((v) => v + 1);

  return (
    <>
      <div className="page-head">
        <h1>Gateway credentials</h1>
        {admin && (
          <button type="button" onClick={() => setAdding(true)}>
            Add gateway credential
          </button>
        )}
      </div>
      <p className="lead">
        The Global API gateway (and other internal services) sign in with these to ask whether an access token is valid
        at <code>/oauth2/introspect</code>.
      </p>
      <Async state={clients}>
        {(page) =>
          page.total === 0 ? (
            <Empty>No gateway credentials yet.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="striped">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Client ID</th>
                    <th scope="col">Status</th>
                    <th scope="col">Created</th>
                    <th scope="col">Revoked</th>
                    {admin && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((client) => (
                    <tr key={client.client_id}>
                      <td>{client.name}</td>
                      <td className="mono">{client.client_id}</td>
                      <td>
                        <span className={`badge ${client.active ? 'badge-active' : 'badge-revoked'}`}>
                          {client.active ? 'Active' : 'Revoked'}
                        </span>
                      </td>
                      <td>
                        <Time iso={client.created_at} />
                      </td>
                      <td>
                        <Time iso={client.revoked_at} />
                      </td>
                      {admin && (
                        <td>
                          {client.active && (
                            <button type="button" className="danger outline small" onClick={() => setRevoking(client)}>
                              Revoke
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      {adding && (
        <AddClientDialog
          onClose={() => setAdding(false)}
          onCreated={(value) => {
            setAdding(false);
            setCreated(value);
            reload();
          }}
        />
      )}
      {created && (
        <SecretDialog
          title={`Gateway credential ${created.name} created`}
          noun="client secret"
          extra={[{ label: 'Client ID', value: created.client_id }]}
          secret={{ label: 'Client secret', value: created.client_secret }}
          onDone={() => setCreated(null)}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke ${revoking.name}?`}
          confirmLabel="Revoke"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await unwrap(
              api.POST('/api/v1/introspection-clients/{client_id}/revoke', {
                params: { path: { client_id: revoking.client_id } },
              }),
            );
            setRevoking(null);
            reload();
          }}
        >
          <p>A gateway using this credential can no longer check tokens, so its callers are refused.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function AddClientDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (created: IntrospectionClientCreated) => void;
}) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(await unwrap(api.POST('/api/v1/introspection-clients', { body: { name: name.trim() } })));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <Dialog title="Add gateway credential" onCancel={() => !busy && onClose()}>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Name">
          {(id) => (
            <>
              <input id={id} value={name} onChange={(event) => setName(event.currentTarget.value)} required autoFocus />
              <small>Which gateway or service uses it, e.g. "global-api-gateway (eu-1)".</small>
              <FieldError id="client-name-error" message={fieldErrors.name} />
            </>
          )}
        </Field>
        {error && Object.keys(fieldErrors).length === 0 ? (
          <p role="alert" className="field-error">
            {messageOf(error)}
          </p>
        ) : null}
        <footer>
          <button type="button" className="secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" aria-busy={busy} disabled={busy}>
            Create credential
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
