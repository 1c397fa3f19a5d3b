import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ErrorBox } from "../ui/ErrorBox";

interface Props {
  title: string;
  submitLabel: string;
  /** Fields of the action itself; the comment is always asked for. */
  children?: ComponentChildren;
  onSubmit: (comment: string) => Promise<unknown>;
  onDone: () => void;
  onCancel: () => void;
}

// Every change lands in the change log with its comment, so one is always required.
export function ActionForm({ title, submitLabel, children, onSubmit, onDone, onCancel }: Props) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    onSubmit(comment.trim()).then(onDone, (err: unknown) => {
      setBusy(false);
      setError(err);
    });
  };
  return (
    <form class="action-form" onSubmit={submit} aria-label={title}>
      <h3>{title}</h3>
      {children}
      <label>
        Comment (recorded in the change log)
        <textarea required value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      </label>
      <ErrorBox error={error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy || comment.trim() === ""}>
          {submitLabel}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
