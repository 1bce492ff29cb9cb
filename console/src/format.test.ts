import { describe, expect, it } from 'vitest';
import { expiresSoon, formatDateTime, formatUtc, localInputToIso, policyLabel, POLICIES, reasonLabel, statusLabel } from './format';

describe('dates', () => {
  it('formats local time and UTC for the hover title', () => {
    expect(formatDateTime('2026-11-27T16:00:00Z', { locale: 'en-GB', timeZone: 'Europe/Paris' })).toBe('27 Nov 2026, 17:00');
    expect(formatUtc('2026-11-27T16:00:00+00:00')).toBe('2026-11-27 16:00:00 UTC');
    expect(formatUtc('2026-11-27T17:00:00+01:00')).toBe('2026-11-27 16:00:00 UTC');
  });

  it('shows a dash for no date or a bad one', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('not a date')).toBe('—');
    expect(formatUtc(undefined)).toBe('');
  });

  it('turns a datetime-local value into an RFC 3339 instant', () => {
    expect(localInputToIso('')).toBeNull();
    expect(localInputToIso('2031-06-30T12:00')).toBe(new Date('2031-06-30T12:00').toISOString());
  });
});

describe('status', () => {
  const now = new Date('2026-11-27T12:00:00Z');
  it('labels statuses', () => {
    expect(statusLabel('active')).toBe('Active');
    expect(statusLabel('expired')).toBe('Expired');
    expect(statusLabel('revoked')).toBe('Revoked');
  });

  it('warns within 7 days of expiry, for active tokens only', () => {
    expect(expiresSoon({ status: 'active', expires_at: '2026-12-04T12:00:00Z' }, now)).toBe(true);
    expect(expiresSoon({ status: 'active', expires_at: '2026-12-04T12:00:01Z' }, now)).toBe(false);
    expect(expiresSoon({ status: 'active', expires_at: null }, now)).toBe(false);
    expect(expiresSoon({ status: 'revoked', expires_at: '2026-11-28T12:00:00Z' }, now)).toBe(false);
    expect(expiresSoon({ status: 'active', expires_at: '2026-11-27T11:00:00Z' }, now)).toBe(false);
  });

  it('names policies and reasons in the help page words', () => {
    expect(POLICIES.map(policyLabel)).toEqual(['7 days', '30 days', '60 days', '90 days', '180 days', '1 year', 'Custom', 'Never']);
    expect(reasonLabel('regenerated')).toBe('Regenerated');
    expect(reasonLabel(null)).toBe('—');
  });
});
