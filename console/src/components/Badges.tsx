import type { Token } from '../api/client';
import { expiresSoon, formatDateTime, formatUtc, statusLabel } from '../format';

export function StatusBadge({ token, now }: { token: Pick<Token, 'status' | 'expires_at'>; now?: Date }) {
  const soon = expiresSoon(token, now);
  return (
    <span className="badges">
      <span className={`badge badge-${token.status}`}>{statusLabel(token.status)}</span>
      {soon && <span className="badge badge-soon">expires soon</span>}
    </span>
  );
}

/** Local time, with UTC on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <>—</>;
  return (
    <time dateTime={iso} title={formatUtc(iso)}>
      {formatDateTime(iso)}
    </time>
  );
}
