import { ApiError } from "../api/client";

/** Shows the server's refusal as it gave it: code, layer and reason. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError) {
    return (
      <div class="error-box" role="alert">
        <strong>
          {error.status} {error.code}
        </strong>
        {error.layer && <span class="layer"> (layer {error.layer})</span>}
        <div class="reason">{error.reason}</div>
      </div>
    );
  }
  return (
    <div class="error-box" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </div>
  );
}
