import { useEffect, useState } from "preact/hooks";
import { segment, validateDocument } from "../api/documents";
import type { DocKind } from "./permissions";
import { mapErrors, type FieldError } from "./validationErrors";

export type ValidationStatus = "unchanged" | "pending" | "valid" | "invalid" | "failed";

export interface ValidationState {
  status: ValidationStatus;
  /** The last answer's errors; kept while the next check is pending so the gutter does not flicker. */
  errors: FieldError[];
  /** Validation itself failed (network, 401, ...): not a verdict on the text. */
  error: unknown;
}

export const VALIDATE_DELAY_MS = 400;

/**
 * Validates `text` with the server's compiler (`POST .../validate`) once typing pauses for
 * `delayMs`; a newer text cancels the older check. The live text needs no check.
 */
export function useValidation(kind: DocKind, target: string, text: string, live: string | null, delayMs = VALIDATE_DELAY_MS): ValidationState {
  const [state, setState] = useState<ValidationState>({ status: "unchanged", errors: [], error: null });
  useEffect(() => {
    if (live === null || text === live) {
      setState({ status: "unchanged", errors: [], error: null });
      return;
    }
    setState((s) => ({ ...s, status: "pending", error: null }));
    let current = true;
    const abort = new AbortController();
    const timer = setTimeout(() => {
      validateDocument(segment(kind), target, text, abort.signal).then(
        (v) => current && setState({ status: v.valid ? "valid" : "invalid", errors: v.valid ? [] : mapErrors(v.errors, text), error: null }),
        (e: unknown) => current && setState({ status: "failed", errors: [], error: e }),
      );
    }, delayMs);
    return () => {
      current = false;
      clearTimeout(timer);
      abort.abort();
    };
  }, [kind, target, text, live, delayMs]);
  return state;
}
