import { Field } from './Field';
import type { ExpirationPolicy } from '../api/client';
import { POLICIES, policyLabel } from '../format';
import { FieldError } from './States';

export interface PolicyChoice {
  policy: ExpirationPolicy | '';
  expiresAt: string; // datetime-local value
}

/** `Expiration policy` select; `Custom` shows `Expires at`, `Never` shows a warning. */
export function PolicyFields({
  value,
  onChange,
  errors,
  keepLabel,
  idPrefix,
}: {
  value: PolicyChoice;
  onChange: (value: PolicyChoice) => void;
  errors: Readonly<Record<string, string>>;
  /** When set, the empty choice means "keep the current policy" (regenerate). */
  keepLabel?: string;
  idPrefix: string;
}) {
  return (
    <>
      <Field label="Expiration policy">
        {(id) => (
          <>
            <select id={id}
              value={value.policy}
              required={!keepLabel}
              aria-invalid={errors.expiration_policy ? true : undefined}
              onChange={(event) => onChange({ ...value, policy: event.currentTarget.value as ExpirationPolicy | '' })}
            >
              <option value="" disabled={!keepLabel}>
                {keepLabel ?? 'Choose how long it stays valid…'}
              </option>
              {POLICIES.map((policy) => (
                <option key={policy} value={policy}>
                  {policyLabel(policy)}
                </option>
              ))}
            </select>
            <FieldError id={`${idPrefix}-policy-error`} message={errors.expiration_policy} />
          </>
        )}
      </Field>
      {value.policy === 'custom' && (
        <Field label="Expires at">
          {(id) => (
            <>
              <input id={id}
                type="datetime-local"
                value={value.expiresAt}
                required
                aria-invalid={errors.expires_at ? true : undefined}
                onChange={(event) => onChange({ ...value, expiresAt: event.currentTarget.value })}
              />
              <small>Your local time.</small>
              <FieldError id={`${idPrefix}-expires-error`} message={errors.expires_at} />
            </>
          )}
        </Field>
      )}
      {value.policy === 'never' && (
        <p role="note" className="warning">
          A token that never expires stays valid until someone revokes it. Prefer an expiry and
          regenerate the token before it ends.
        </p>
      )}
    </>
  );
}
