import { ErrorBox } from "../ui/ErrorBox";
import type { ValidationState } from "./useValidation";

/** The validation verdict under the editor; an error's line number jumps to that line. */
export function ValidationView({ state, onJump }: { state: ValidationState; onJump: (line: number) => void }) {
  switch (state.status) {
    case "unchanged":
      return (
        <p class="muted" data-testid="validation" data-state="unchanged">
          Unchanged: this is the live version.
        </p>
      );
    case "pending":
      return (
        <p class="muted" data-testid="validation" data-state="pending">
          Validating…
        </p>
      );
    case "valid":
      return (
        <p class="status-live" data-testid="validation" data-state="valid">
          ✓ Valid: the compiler the sidecars use accepts this text.
        </p>
      );
    case "failed":
      return (
        <div data-testid="validation" data-state="failed">
          <p class="status-warn">Could not validate the text.</p>
          <ErrorBox error={state.error} />
        </div>
      );
    case "invalid":
      return (
        <div class="validation-errors" data-testid="validation" data-state="invalid" role="alert">
          <p class="status-error">
            Invalid: {state.errors.length} {state.errors.length === 1 ? "error" : "errors"}
          </p>
          <ul>
            {state.errors.map((e, i) => (
              <li key={i} data-testid="validation-error" data-line={e.line ?? ""}>
                {e.line !== null ? (
                  <button type="button" class="link" onClick={() => onJump(e.line!)}>
                    line {e.line}
                    {e.column !== null ? `:${e.column}` : ""}
                  </button>
                ) : (
                  <span class="muted">(no line)</span>
                )}{" "}
                {e.field && <span class="mono field-path">{e.field}</span>}
                {e.field && ": "}
                {e.message}
              </li>
            ))}
          </ul>
        </div>
      );
  }
}
