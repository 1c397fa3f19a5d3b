import { diffHunks, diffStats, lineDiff } from "./lineDiff";

const sign = { same: " ", add: "+", del: "-" } as const;

/** A line diff of two texts in hunks with context, old and new line numbers side by side. */
export function DiffView({ before, after, beforeLabel, afterLabel }: { before: string; after: string; beforeLabel: string; afterLabel: string }) {
  const lines = lineDiff(before, after);
  const hunks = diffHunks(lines);
  const { added, removed } = diffStats(lines);
  return (
    <div class="diff" data-testid="diff">
      <p class="muted">
        {beforeLabel} → {afterLabel}:{" "}
        {hunks.length === 0 ? (
          "no differences."
        ) : (
          <>
            <span class="diff-stat-add">+{added}</span> <span class="diff-stat-del">−{removed}</span> lines
          </>
        )}
      </p>
      {hunks.length > 0 && (
        <table class="diff-table mono">
          <tbody>
            {hunks.map((h, hi) => [
              h.skippedBefore > 0 || hi > 0 ? (
                <tr key={`skip-${hi}`} class="diff-skip">
                  <td colSpan={4}>⋯ {h.skippedBefore} unchanged {h.skippedBefore === 1 ? "line" : "lines"}</td>
                </tr>
              ) : null,
              ...h.lines.map((l, li) => (
                <tr key={`${hi}-${li}`} class={`diff-${l.op}`}>
                  <td class="diff-no">{l.oldLine ?? ""}</td>
                  <td class="diff-no">{l.newLine ?? ""}</td>
                  <td class="diff-sign">{sign[l.op]}</td>
                  <td class="diff-text">{l.text}</td>
                </tr>
              )),
            ])}
          </tbody>
        </table>
      )}
    </div>
  );
}
