import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { unwrap, type IssuedToken } from '../api/client';
import { useIsAdmin } from '../App';
import { StatusBadge, Time } from '../components/Badges';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { PolicyFields, type PolicyChoice } from '../components/PolicyFields';
import { SecretDialog } from '../components/SecretDialog';
import { Async } from '../components/States';
import { localInputToIso, policyLabel, reasonLabel } from '../format';
import { api } from '../session';
import { useApi } from '../useApi';

export function TokenPage() {
  const { integrationId = '', tokenId = '' } = useParams();
  const admin = useIsAdmin();
  const [version, setVersion] = useState(0);
  const [dialog, setDialog] = useState<'revoke' | 'regenerate' | null>(null);
  const [choice, setChoice] = useState<PolicyChoice>({ policy: '', expiresAt: '' });
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const path = { integration_id: integrationId, token_id: tokenId };

  const integration = useApi(`integration/${integrationId}`, () =>
    unwrap(api.GET('/api/v1/integrations/{integration_id}', { params: { path: { integration_id: integrationId } } })),
  );
  const token = useApi(`token/${integrationId}/${tokenId}/${version}`, () =>
    unwrap(api.GET('/api/v1/integrations/{integration_id}/tokens/{token_id}', { params: { path } })),
  );
  const reload = () => setVersion((v) => v + 1);

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/">Global Integrations</Link> ›{' '}
        <Link to={`/integrations/${integrationId}`}>{integration.data?.name ?? 'Integration'}</Link> ›{' '}
        {token.data?.name ?? '…'}
      </nav>
      <Async state={token}>
        {(item) => (
          <>
            <div className="page-head">
              <h1>Access token {item.name}</h1>
              <StatusBadge token={item} />
            </div>
            {item.revocation_reason === 'regenerated' && (
              <p role="note" className="notice">
                This token was regenerated: it no longer works.
                {item.replaced_by && (
                  <>
                    {' '}
                    Its replacement is <Link to={`/integrations/${integrationId}/tokens/${item.replaced_by}`}>the new token</Link>.
                  </>
                )}
              </p>
            )}
            {integration.data && !integration.data.active && (
              <p role="note" className="warning">
                Its integration is inactive, so this token is refused even while its status is Active.
              </p>
            )}
            <dl className="details">
              <dt>Name</dt>
              <dd>{item.name}</dd>
              <dt>Hint</dt>
              <dd className="mono">{item.hint}</dd>
              <dt>Status</dt>
              <dd>
                <StatusBadge token={item} />
              </dd>
              <dt>Policy</dt>
              <dd>{policyLabel(item.expiration_policy)}</dd>
              <dt>Expires</dt>
              <dd>{item.expires_at ? <Time iso={item.expires_at} /> : 'Never'}</dd>
              <dt>Created</dt>
              <dd>
                <Time iso={item.created_at} />
              </dd>
              <dt>Last used</dt>
              <dd>{item.last_used_at ? <Time iso={item.last_used_at} /> : 'Never'}</dd>
              <dt>Revoked at</dt>
              <dd>
                <Time iso={item.revoked_at} />
              </dd>
              <dt>Reason</dt>
              <dd>{reasonLabel(item.revocation_reason)}</dd>
              <dt>Replaced by</dt>
              <dd>
                {item.replaced_by ? (
                  <Link to={`/integrations/${integrationId}/tokens/${item.replaced_by}`}>the new token</Link>
                ) : (
                  '—'
                )}
              </dd>
            </dl>
            {admin && item.status !== 'revoked' && (
              <div className="actions">
                <button type="button" className="danger" onClick={() => setDialog('revoke')}>
                  Revoke
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    setChoice({ policy: '', expiresAt: '' });
                    setDialog('regenerate');
                  }}
                >
                  Regenerate
                </button>
              </div>
            )}
            {dialog === 'revoke' && (
              <ConfirmDialog
                title={`Revoke ${item.name}?`}
                confirmLabel="Revoke"
                onClose={() => setDialog(null)}
                onConfirm={async () => {
                  await unwrap(api.POST('/api/v1/integrations/{integration_id}/tokens/{token_id}/revoke', { params: { path } }));
                  setDialog(null);
                  reload();
                }}
              >
                <p>
                  Applications using {item.name} ({item.hint}) are refused at once. This cannot be undone.
                </p>
              </ConfirmDialog>
            )}
            {dialog === 'regenerate' && (
              <ConfirmDialog
                title={`Regenerate ${item.name}?`}
                confirmLabel="Regenerate"
                danger={false}
                onClose={() => setDialog(null)}
                onConfirm={async () => {
                  const expiresAt = choice.policy === 'custom' ? localInputToIso(choice.expiresAt) : null;
                  const body = choice.policy
                    ? { expiration_policy: choice.policy, ...(expiresAt ? { expires_at: expiresAt } : {}) }
                    : undefined;
                  const answer = await unwrap(
                    api.POST('/api/v1/integrations/{integration_id}/tokens/{token_id}/regenerate', {
                      params: { path },
                      ...(body ? { body } : {}),
                    }),
                  );
                  setDialog(null);
                  setIssued(answer);
                  reload();
                }}
              >
                <p>
                  A new secret replaces this one; the current secret stops working at once. Applications must be given
                  the new secret.
                </p>
                <PolicyFields
                  value={choice}
                  onChange={setChoice}
                  errors={{}}
                  keepLabel={`Keep the current policy (${policyLabel(item.expiration_policy)})`}
                  idPrefix="regenerate"
                />
              </ConfirmDialog>
            )}
            {issued && (
              <SecretDialog
                title={`Access token ${issued.token.name} regenerated`}
                secret={{ label: 'Access token', value: issued.secret }}
                onDone={() => setIssued(null)}
              />
            )}
          </>
        )}
      </Async>
    </>
  );
}
