import { useState } from 'react';
import { Field } from '../components/Field';
import { Link, useNavigate } from 'react-router';
import { unwrap, type Schemas } from '../api/client';
import { useIsAdmin } from '../App';
import { Time } from '../components/Badges';
import { Pagination } from '../components/Pagination';
import { Async, Empty } from '../components/States';
import { yesNo } from '../format';
import { api } from '../session';
import { useApi } from '../useApi';
import { useDebouncedCallback } from '../useDebouncedCallback';
import { useUrlFilters } from '../useUrlFilters';

export const PAGE_SIZE = 20;
// Typing asks the API once the operator pauses, not once per key.
const SEARCH_DELAY_MS = 250;
type Sort = Schemas['IntegrationSort'];
const SORTS: Sort[] = ['name', '-name', 'created_at', '-created_at'];

function SortHeader({ field, label, sort, onSort }: { field: 'name' | 'created_at'; label: string; sort: Sort; onSort: (s: Sort) => void }) {
  const direction = sort === field ? 'ascending' : sort === `-${field}` ? 'descending' : 'none';
  const next: Sort = sort === field ? (`-${field}` as Sort) : (field as Sort);
  return (
    <th scope="col" aria-sort={direction}>
      <button type="button" className="sort" onClick={() => onSort(next)}>
        {label}
        <span aria-hidden="true">{direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ' ↕'}</span>
      </button>
    </th>
  );
}

export function Integrations() {
  const admin = useIsAdmin();
  const navigate = useNavigate();
  const [params, update] = useUrlFilters();
  const q = params.get('q') ?? '';
  const active = params.get('active') ?? '';
  const rawSort = params.get('sort') as Sort | null;
  const sort: Sort = rawSort && SORTS.includes(rawSort) ? rawSort : '-created_at';
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  // The box follows the URL when it changes elsewhere (e.g. the navigation link clears it).
  const [text, setText] = useState(q);
  const [shownQ, setShownQ] = useState(q);
  if (q !== shownQ) {
    setShownQ(q);
    if (q !== text.trim()) setText(q);
  }

  const search = useDebouncedCallback((typed: string) => update({ q: typed }), SEARCH_DELAY_MS);

  const list = useApi(`integrations?${q}&${active}&${sort}&${offset}`, () =>
    unwrap(
      api.GET('/api/v1/integrations', {
        params: {
          query: {
            ...(q ? { q } : {}),
            ...(active ? { active: active === 'yes' } : {}),
            sort,
            limit: PAGE_SIZE,
            offset,
          },
        },
      }),
    ),
  );

  return (
    <>
      <div className="page-head">
        <h1>Global Integrations</h1>
        {admin && (
          <button type="button" onClick={() => navigate('/integrations/new')}>
            Add Custom Integration
          </button>
        )}
      </div>
      <p className="lead">
        Applications that may act on the data of all merchants. Each has named access tokens that
        the Global API gateway checks.
      </p>
      <div className="filters" role="search">
        <Field label="Search">
          {(id) => (
            <>
              <input id={id}
                type="search"
                value={text}
                placeholder="Name contains…"
                onChange={(event) => {
                  setText(event.currentTarget.value);
                  search(event.currentTarget.value.trim());
                }}
              />
            </>
          )}
        </Field>
        <Field label="Active">
          {(id) => (
            <>
              <select id={id} value={active} onChange={(event) => update({ active: event.currentTarget.value })}>
                <option value="">All</option>
                <option value="yes">Yes</option>
                <option value="no">No</option>
              </select>
            </>
          )}
        </Field>
      </div>
      <Async state={list}>
        {(page) =>
          page.total === 0 && offset === 0 ? (
            <Empty>
              {q || active
                ? 'No integration matches these filters.'
                : admin
                  ? 'No integrations yet. Add Custom Integration to create the first one.'
                  : 'No integrations yet.'}
            </Empty>
          ) : (
            <>
              <div className="table-wrap">
                <table className="striped">
                  <thead>
                    <tr>
                      <SortHeader field="name" label="Name" sort={sort} onSort={(s) => update({ sort: s })} />
                      <th scope="col">Description</th>
                      <th scope="col">Notification email</th>
                      <th scope="col">Active</th>
                      <th scope="col" title="active / expired / revoked">
                        Tokens (active / expired / revoked)
                      </th>
                      <SortHeader field="created_at" label="Created" sort={sort} onSort={(s) => update({ sort: s })} />
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((item) => (
                      <tr key={item.id}>
                        <td>
                          <Link to={`/integrations/${item.id}`}>{item.name}</Link>
                        </td>
                        <td className="description">{item.description || '—'}</td>
                        <td>{item.notification_email}</td>
                        <td>
                          <span className={`badge ${item.active ? 'badge-active' : 'badge-revoked'}`}>{yesNo(item.active)}</span>
                        </td>
                        <td className="counts">
                          {item.token_counts.active} / {item.token_counts.expired} / {item.token_counts.revoked}
                        </td>
                        <td>
                          <Time iso={item.created_at} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination
                total={page.total}
                offset={offset}
                limit={PAGE_SIZE}
                noun={page.total === 1 ? 'integration' : 'integrations'}
                onOffset={(o) => update({ offset: o ? String(o) : '' })}
              />
            </>
          )
        }
      </Async>
    </>
  );
}
