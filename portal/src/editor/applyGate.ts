import type { ValidationStatus } from "./useValidation";

/**
 * Why Apply is disabled, or null when it is not. A candidate is applied only once the
 * server has validated exactly that text: the PUT would refuse anything else anyway, but
 * the button should not promise what the server will refuse.
 */
export function applyBlocker(dirty: boolean, status: ValidationStatus): string | null {
  if (!dirty) return "nothing to apply: the text is the live version";
  switch (status) {
    case "valid":
      return null;
    case "invalid":
      return "fix the errors first";
    case "failed":
      return "the text could not be validated";
    default:
      return "waiting for validation";
  }
}
