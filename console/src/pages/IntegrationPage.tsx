import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { unwrap, type Integration } from '../api/client';
import { useIsAdmin } from '../App';
import { Time } from '../components/Badges';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { IntegrationForm } from '../components/IntegrationForm';
import { Async } from '../components/States';
import { yesNo } from '../format';
import { api } from '../session';
import { useApi } from '../useApi';
import { TokensSection } from './TokensSection';

export function IntegrationPage() {
  const { integrationId = '' } = useParams();
  const [version, setVersion] = useState(0);
  const integration = useApi(`integration/${integrationId}/${version}`, () =>
    unwrap(api.GET('/api/v1/integrations/{integration_id}', { params: { path: { integration_id: integrationId } } })),
  );
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/">Global Integrations</Link> › {integration.data?.name ?? '…'}
      </nav>
      <Async state={integration}>
        {(item) => (
          <>
            <Details integration={item} onSaved={() => setVersion((v) => v + 1)} />
            <TokensSection integration={item} />
          </>
        )}
      </Async>
    </>
  );
}

function Details({ integration, onSaved }: { integration: Integration; onSaved: () => void }) {
  const admin = useIsAdmin();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const path = { integration_id: integration.id };

  return (
    <section aria-labelledby="integration-heading">
      <div className="page-head">
        <h1 id="integration-heading">{integration.name}</h1>
        <span className={`badge ${integration.active ? 'badge-active' : 'badge-revoked'}`}>
          {integration.active ? 'Active' : 'Inactive'}
        </span>
      </div>
      {!integration.active && (
        <p role="note" className="warning">
          This integration is inactive: every one of its tokens is refused until Active is set back to Yes.
        </p>
      )}
      {admin ? (
        <IntegrationForm
          key={integration.updated_at}
          initial={integration}
          submitLabel="Save"
          onSubmit={async (values) => {
            await unwrap(api.PATCH('/api/v1/integrations/{integration_id}', { params: { path }, body: values }));
            onSaved();
          }}
        >
          <button type="button" className="danger outline" onClick={() => setDeleting(true)}>
            Delete
          </button>
        </IntegrationForm>
      ) : (
        <dl className="details">
          <dt>Description</dt>
          <dd>{integration.description || '—'}</dd>
          <dt>Notification email</dt>
          <dd>{integration.notification_email}</dd>
          <dt>Active</dt>
          <dd>{yesNo(integration.active)}</dd>
        </dl>
      )}
      <p className="meta">
        Created <Time iso={integration.created_at} /> · updated <Time iso={integration.updated_at} />
      </p>
      {deleting && (
        <ConfirmDialog
          title={`Delete ${integration.name}?`}
          confirmLabel="Delete"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/integrations/{integration_id}', { params: { path } }));
            navigate('/', { replace: true });
          }}
        >
          <p>
            Every token of this integration will be revoked at once, and the integration disappears from the
            lists. The audit log keeps its history. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
