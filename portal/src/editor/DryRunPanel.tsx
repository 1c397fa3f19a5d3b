import { useState } from "preact/hooks";
import { ApiError } from "../api/client";
import { dryRun } from "../api/documents";
import { ErrorBox } from "../ui/ErrorBox";
import { callerText, rowChanged, summariseDryRun, verdictText, type DryRunAnswer, type DryRunResult } from "./dryRun";
import type { DocKind } from "./permissions";

export const DRY_RUN_LIMIT = 200;

function verdictClass(d: string | undefined): string {
  return d === "allow" ? "decision-allow" : d === "deny" ? "decision-deny" : "";
}

function timeText(us: number | undefined): string {
  return us ? new Date(us / 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function Row({ r }: { r: DryRunResult }) {
  const changed = rowChanged(r);
  return (
    <tr data-testid="dry-run-row" class={changed ? "dry-run-changed" : undefined}>
      <td class="nowrap">{timeText(r.time_unix_us)}</td>
      <td title={r.caller_id}>{callerText(r)}</td>
      <td class="mono">
        {r.method} {r.path}
      </td>
      <td>
        <span class={`pill ${verdictClass(r.live?.decision)}`}>{verdictText(r.live)}</span>
      </td>
      <td>
        <span class={`pill ${verdictClass(r.candidate?.decision)}`}>{verdictText(r.candidate)}</span>
      </td>
    </tr>
  );
}

/**
 * "Dry run": the target's recorded requests re-evaluated under the candidate, next to the
 * live version's verdict, so a change's effect is seen before it is enforced.
 */
export function DryRunPanel({ kind, target, text, disabled }: { kind: DocKind; target: string; text: string; disabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<{ for: string; a: DryRunAnswer } | null>(null);
  const [showAll, setShowAll] = useState(false);
  const run = () => {
    setBusy(true);
    setError(null);
    dryRun(kind, target, text, DRY_RUN_LIMIT).then(
      (a) => (setAnswer({ for: text, a }), setBusy(false)),
      (e: unknown) => (setError(e), setAnswer(null), setBusy(false)),
    );
  };
  const s = answer ? summariseDryRun(answer.a) : null;
  const rows = s ? (showAll ? s.allRows : s.changedRows) : [];
  // A 404 without a target problem is the route itself missing: a server older than dry run.
  const missing = error instanceof ApiError && error.status === 404 && error.code === "not_found";
  return (
    <section class="dry-run" aria-label="Dry run">
      <div class="buttons">
        <button type="button" onClick={run} disabled={disabled || busy}>
          {busy ? "Running…" : "Dry run"}
        </button>
        <span class="muted">Replays up to {DRY_RUN_LIMIT} recorded requests to this target against the text above.</span>
      </div>
      {missing && <p class="status-error">This server has no dry-run endpoint (404).</p>}
      <ErrorBox error={error} />
      {s && (
        <>
          <p data-testid="dry-run-summary" class={s.changed > 0 ? "status-warn" : "status-live"}>
            {s.headline}
            {answer!.for !== text && <span class="muted"> (for an earlier text: run it again)</span>}
          </p>
          <label class="inline">
            <input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.currentTarget.checked)} /> Show all {s.allRows.length}{" "}
            evaluated requests
          </label>
          {rows.length > 0 && (
            <table class="grid">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Caller</th>
                  <th>Request</th>
                  <th>Live version</th>
                  <th>Candidate</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <Row key={r.request_id ?? i} r={r} />
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
