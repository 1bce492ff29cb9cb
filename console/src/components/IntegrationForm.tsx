import { Field } from './Field';
import { useId, useState } from 'react';
import type { Integration } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import { FieldError } from './States';

export interface IntegrationValues {
  name: string;
  description: string;
  notification_email: string;
  active: boolean;
}

/** New and edit. Field errors come from the API's problem+json `errors[].loc`. */
export function IntegrationForm({
  initial,
  submitLabel,
  onSubmit,
  children,
}: {
  initial?: Integration;
  submitLabel: string;
  onSubmit: (values: IntegrationValues) => Promise<void>;
  children?: React.ReactNode;
}) {
  const formId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const general = error && Object.keys(fieldErrors).length === 0 ? messageOf(error) : null;

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await onSubmit({
        name: String(form.get('name') ?? '').trim(),
        description: String(form.get('description') ?? ''),
        notification_email: String(form.get('notification_email') ?? '').trim(),
        active: form.get('active') === 'yes',
      });
      setSaved(true);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  function field(name: keyof IntegrationValues) {
    const message = fieldErrors[name];
    return {
      name,
      'aria-invalid': message ? true : undefined,
      'aria-describedby': message ? `${formId}-${name}-error` : undefined,
    } as const;
  }

  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="integration-form">
      <div className="grid grid-3">
        <Field label="Name">
          {(id) => (
            <>
              <input id={id} {...field('name')} defaultValue={initial?.name} required maxLength={200} />
              <FieldError id={`${formId}-name-error`} message={fieldErrors.name} />
            </>
          )}
        </Field>
        <Field label="Notification Email">
          {(id) => (
            <>
              <input id={id} {...field('notification_email')} type="email" defaultValue={initial?.notification_email} required />
              <small>Told about expiring and revoked tokens.</small>
              <FieldError id={`${formId}-notification_email-error`} message={fieldErrors.notification_email} />
            </>
          )}
        </Field>
        <Field label="Active">
          {(id) => (
            <>
              <select id={id} {...field('active')} defaultValue={initial === undefined || initial.active ? 'yes' : 'no'}>
                <option value="yes">Yes</option>
                <option value="no">No</option>
              </select>
              <small>No: all its tokens are refused until Yes.</small>
              <FieldError id={`${formId}-active-error`} message={fieldErrors.active} />
            </>
          )}
        </Field>
      </div>
      <Field label="Description">
        {(id) => (
          <>
            <textarea id={id} {...field('description')} defaultValue={initial?.description} rows={2} maxLength={2000} />
            <FieldError id={`${formId}-description-error`} message={fieldErrors.description} />
          </>
        )}
      </Field>
      {general && (
        <p role="alert" className="field-error">
          {general}
        </p>
      )}
      <div className="actions">
        <button type="submit" aria-busy={busy} disabled={busy}>
          {submitLabel}
        </button>
        {children}
        <span role="status" className="saved">
          {saved && initial ? 'Saved' : ''}
        </span>
      </div>
    </form>
  );
}
