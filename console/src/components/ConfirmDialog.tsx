import { useState } from 'react';
import { messageOf } from '../api/errors';
import { Dialog } from './Dialog';

/** "Are you sure?" whose confirm button carries the action's own name (Delete, Revoke…). */
export function ConfirmDialog({
  title,
  confirmLabel,
  children,
  onConfirm,
  onClose,
  danger = true,
}: {
  title: string;
  confirmLabel: string;
  children: React.ReactNode;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <Dialog
      title={title}
      onCancel={() => !busy && onClose()}
      footer={
        <>
          <button type="button" className="secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className={danger ? 'danger' : undefined}
            onClick={() => void confirm()}
            aria-busy={busy}
            disabled={busy}
          >
            {confirmLabel}
          </button>
        </>
      }
    >
      {children}
      {error ? (
        <p role="alert" className="field-error">
          {messageOf(error)}
        </p>
      ) : null}
    </Dialog>
  );
}
