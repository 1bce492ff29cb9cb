import { useEffect, useId, useRef } from 'react';

/**
 * A modal <dialog>, open while rendered. Escape does not close it by itself: it calls
 * `onCancel`, so that the owner decides (the secret dialog asks first).
 */
export function Dialog({
  title,
  onCancel,
  children,
  footer,
}: {
  title: string;
  onCancel: () => void;
  children: React.ReactNode;
  footer?: React.ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCancelRef = useRef(onCancel);
  useEffect(() => {
    onCancelRef.current = onCancel;
  });

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    const cancel = (event: Event) => {
      event.preventDefault();
      onCancelRef.current();
    };
    dialog.addEventListener('cancel', cancel);
    return () => {
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
    };
  }, []);

  return (
    <dialog ref={ref} aria-labelledby={titleId}>
      <article>
        <header>
          <h2 id={titleId}>{title}</h2>
        </header>
        {children}
        {footer && <footer>{footer}</footer>}
      </article>
    </dialog>
  );
}
