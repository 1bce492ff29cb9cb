import { Field } from './Field';
import { useState } from 'react';
import { Dialog } from './Dialog';

export interface ShownValue {
  label: string;
  value: string;
}

/**
 * Shows a secret exactly once. It lives only in React state (never in storage or the URL)
 * and is gone when the dialog closes. Closing before copying asks again.
 */
export function SecretDialog({
  title,
  secret,
  extra = [],
  noun = 'access token',
  onDone,
  clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : undefined,
}: {
  title: string;
  secret: ShownValue;
  extra?: ShownValue[];
  noun?: string;
  onDone: () => void;
  clipboard?: Pick<Clipboard, 'writeText'> | undefined;
}) {
  const [copied, setCopied] = useState(false);
  const [copyError, setCopyError] = useState(false);
  const [asking, setAsking] = useState(false);

  async function copy() {
    try {
      if (!clipboard) throw new Error('no clipboard');
      await clipboard.writeText(secret.value);
      setCopied(true);
      setCopyError(false);
      setAsking(false);
    } catch {
      setCopyError(true);
    }
  }

  function close() {
    if (copied || asking) {
      if (copied) onDone();
      return;
    }
    setAsking(true);
  }

  return (
    <Dialog
      title={title}
      onCancel={close}
      footer={
        asking ? (
          <>
            <button type="button" className="secondary" onClick={() => setAsking(false)}>
              Go back
            </button>
            <button type="button" className="danger" onClick={onDone}>
              Close without copying
            </button>
          </>
        ) : (
          <button type="button" onClick={close}>
            Done
          </button>
        )
      }
    >
      <p className="warning">
        <strong>You will be presented with the {noun} only this one time.</strong> Store it
        somewhere safe now: it cannot be shown again.
      </p>
      {extra.map((item) => (
        <Field key={item.label} label={item.label}>
          {(id) => (
            <>
              <input id={id} type="text" readOnly value={item.value} className="mono" />
            </>
          )}
        </Field>
      ))}
      <Field label={secret.label}>
        {(id) => (
          <>
            <input id={id}
              type="text"
              readOnly
              value={secret.value}
              className="mono"
              autoComplete="off"
              spellCheck={false}
              onFocus={(event) => event.currentTarget.select()}
            />
          </>
        )}
      </Field>
      <div className="copy-row">
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy {noun}
        </button>
        <span role="status" className="copied">
          {copied ? 'Copied' : ''}
        </span>
      </div>
      {copyError && (
        <p role="alert" className="field-error">
          The browser did not allow copying. Select the text and copy it yourself.
        </p>
      )}
      {asking && (
        <p role="alert" className="warning">
          You have not copied the {noun}. If you close this now, it is lost and you will have to
          regenerate it.
        </p>
      )}
    </Dialog>
  );
}
