// Dates, statuses and policies in the words of the help page.
import type { ExpirationPolicy, Token } from './api/client';

export const EXPIRES_SOON_MS = 7 * 24 * 3600 * 1000;

export const POLICY_LABELS: Record<ExpirationPolicy, string> = {
  '7d': '7 days',
  '30d': '30 days',
  '60d': '60 days',
  '90d': '90 days',
  '180d': '180 days',
  '1y': '1 year',
  custom: 'Custom',
  never: 'Never',
};

/** In the order the Expiration policy select shows them. */
export const POLICIES: ExpirationPolicy[] = ['7d', '30d', '60d', '90d', '180d', '1y', 'custom', 'never'];

export function policyLabel(policy: ExpirationPolicy): string {
  return POLICY_LABELS[policy];
}

export interface FormatOptions {
  locale?: string;
  timeZone?: string;
}

/** Local date and time, e.g. "27 Nov 2026, 17:00"; an em dash for none. */
export function formatDateTime(iso: string | null | undefined, options: FormatOptions = {}): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  }).format(date);
}

/** The same instant in UTC, for a hover title: "2026-11-27 16:00:00 UTC". */
export function formatUtc(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function statusLabel(status: Token['status']): string {
  return status === 'active' ? 'Active' : status === 'expired' ? 'Expired' : 'Revoked';
}

/** An active token that expires within 7 days. */
export function expiresSoon(token: Pick<Token, 'status' | 'expires_at'>, now: Date = new Date()): boolean {
  if (token.status !== 'active' || !token.expires_at) return false;
  const left = new Date(token.expires_at).getTime() - now.getTime();
  return left >= 0 && left <= EXPIRES_SOON_MS;
}

export function yesNo(value: boolean): string {
  return value ? 'Yes' : 'No';
}

export const REASON_LABELS: Record<string, string> = {
  revoked: 'Revoked by an operator',
  regenerated: 'Regenerated',
  integration_deleted: 'Integration deleted',
  leaked: 'Reported as leaked',
};

export function reasonLabel(reason: string | null | undefined): string {
  if (!reason) return '—';
  return REASON_LABELS[reason] ?? reason;
}

/** A local datetime-local input value ("2026-11-27T17:00") as an RFC 3339 UTC string. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
