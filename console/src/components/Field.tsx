import { useId } from 'react';

/**
 * A label tied to its control by id, so the control's accessible name is exactly the
 * label's words (a wrapping <label> would add the options and hints to it).
 */
export function Field({ label, children, className }: { label: string; children: (id: string) => React.ReactNode; className?: string }) {
  const id = useId();
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}
