import { Field } from '../components/Field';
import { Link } from 'react-router';
import { unwrap, type AuditEvent } from '../api/client';
import { Time } from '../components/Badges';
import { Pagination } from '../components/Pagination';
import { Async, Empty } from '../components/States';
import { formatDateTime } from '../format';
import { api } from '../session';
import { useApi } from '../useApi';
import { useUrlFilters } from '../useUrlFilters';

const PAGE_SIZE = 50;

export const ACTIONS: Record<string, string> = {
  'integration.created': 'Integration created',
  'integration.updated': 'Integration updated',
  'integration.deactivated': 'Integration deactivated',
  'integration.activated': 'Integration activated',
  'integration.deleted': 'Integration deleted',
  'token.issued': 'Token issued',
  'token.revoked': 'Token revoked',
  'token.regenerated': 'Token regenerated',
  'introspection_client.created': 'Gateway credential created',
  'introspection_client.revoked': 'Gateway credential revoked',
  'leaked_tokens.reported': 'Leaked tokens reported',
  'admin.created': 'Admin user created',
  'auth.login': 'Signed in',
  'auth.login_failed': 'Sign-in failed',
  'auth.logout': 'Signed out',
};

export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action;
}

/** `details` as short "key: value" text; it never holds a secret. */
function valueText(value: unknown): string {
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) return formatDateTime(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${key.replaceAll('_', ' ')}: ${valueText(value)}`)
    .join(' · ');
}

export function AuditLog() {
  const [params, update] = useUrlFilters();
  const action = params.get('action') ?? '';
  const integrationId = params.get('integration') ?? '';
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);

  const integrations = useApi('audit-integrations', () =>
    unwrap(api.GET('/api/v1/integrations', { params: { query: { limit: 500, sort: 'name' } } })),
  );
  const names = new Map((integrations.data?.items ?? []).map((i) => [i.id, i.name]));
  const events = useApi(`audit/${action}/${integrationId}/${offset}`, () =>
    unwrap(
      api.GET('/api/v1/audit-events', {
        params: {
          query: {
            ...(action ? { action } : {}),
            ...(integrationId ? { integration_id: integrationId } : {}),
            limit: PAGE_SIZE,
            offset,
          },
        },
      }),
    ),
  );

  return (
    <>
      <h1>Audit log</h1>
      <p className="lead">Who changed what, newest first. Times are local; hover for UTC.</p>
      <div className="filters">
        <Field label="Action">
          {(id) => (
            <>
              <select id={id} value={action} onChange={(event) => update({ action: event.currentTarget.value })}>
                <option value="">All actions</option>
                {Object.entries(ACTIONS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </>
          )}
        </Field>
        <Field label="Integration">
          {(id) => (
            <>
              <select id={id} value={integrationId} onChange={(event) => update({ integration: event.currentTarget.value })}>
                <option value="">All integrations</option>
                {integrations.data?.items.map((item) => (
                  <option key={item.id} value={item.id}>
                    {item.name}
                  </option>
                ))}
              </select>
            </>
          )}
        </Field>
      </div>
      <Async state={events}>
        {(page) =>
          page.total === 0 ? (
            <Empty>No audit events match.</Empty>
          ) : (
            <>
              <div className="table-wrap">
                <table className="striped">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Who</th>
                      <th scope="col">What</th>
                      <th scope="col">Integration / token</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((event) => (
                      <Row key={event.id} event={event} names={names} />
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination total={page.total} offset={offset} limit={PAGE_SIZE} noun="events" onOffset={(o) => update({ offset: o ? String(o) : '' })} />
            </>
          )
        }
      </Async>
    </>
  );
}

function Row({ event, names }: { event: AuditEvent; names: Map<string, string> }) {
  const details = detailsText(event.details);
  const integrationName = event.integration_id ? names.get(event.integration_id) : undefined;
  return (
    <tr>
      <td className="when">
        <Time iso={event.at} />
      </td>
      <td>{event.actor}</td>
      <td>
        {actionLabel(event.action)}
        {details && <small className="details-text">{details}</small>}
      </td>
      <td>
        {event.integration_id && (
          <Link to={`/integrations/${event.integration_id}`}>{integrationName ?? 'integration (deleted?)'}</Link>
        )}
        {event.integration_id && event.token_id && ' › '}
        {event.integration_id && event.token_id && (
          <Link to={`/integrations/${event.integration_id}/tokens/${event.token_id}`}>
            {typeof event.details.name === 'string' ? event.details.name : 'token'}
          </Link>
        )}
      </td>
    </tr>
  );
}
