import { useState } from "preact/hooks";

import { getDocument, putDocument, validateDocument, type DocumentKind } from "../api/documents";
import { can } from "../auth/roles";
import { role } from "../auth/session";
import { ErrorBox } from "../ui/ErrorBox";
import { applyFix, fixComment, fixLabel } from "./fixes";
import type { Finding, Fix } from "./scan";

interface Proposal {
  fix: Fix;
  kind: DocumentKind;
  etag?: string;
  before: string;
  after: string;
  errors: string[];
}

const kindOf = (fix: Fix): DocumentKind => (fix.kind === "enable-governance" ? "governance" : "policies");

/** Lines only in one of the two texts: enough to show a small fix's effect before applying. */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  return { removed: a.filter((l) => !b.includes(l)), added: b.filter((l) => !a.includes(l)) };
}

function FixPanel({ finding, onApplied }: { finding: Finding & { fix: Fix }; onApplied: () => void }) {
  const [proposal, setProposal] = useState<Proposal | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [comment, setComment] = useState(fixComment(finding.fix));
  const [done, setDone] = useState<number | null>(null);

  // Propose: the live version, the edited candidate and what the server's compiler says of it.
  const propose = async () => {
    setBusy(true);
    setError(null);
    try {
      const kind = kindOf(finding.fix);
      const live = await getDocument(kind, finding.fix.target);
      const after = applyFix(finding.fix, live.content);
      const verdict = await validateDocument(kind, finding.fix.target, after);
      setProposal({ fix: finding.fix, kind, ...(live.etag ? { etag: live.etag } : {}), before: live.content, after, errors: verdict.valid ? [] : verdict.errors });
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  const apply = async () => {
    if (!proposal) return;
    setBusy(true);
    setError(null);
    try {
      const r = await putDocument(proposal.kind, proposal.fix.target, proposal.after, comment.trim(), proposal.etag);
      setDone(r.data.version);
      onApplied();
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };

  if (done !== null) return <p class="status-ok">Applied as version {done}.</p>;
  if (!proposal) {
    return (
      <>
        <button type="button" onClick={propose} disabled={busy}>
          {fixLabel(finding.fix)}…
        </button>
        <ErrorBox error={error} />
      </>
    );
  }
  const diff = changedLines(proposal.before, proposal.after);
  return (
    <form class="action-form" aria-label={`Fix ${finding.title}`} onSubmit={(e) => (e.preventDefault(), void apply())}>
      <pre class="diff mono" data-testid="fix-diff">
        {diff.removed.map((l, i) => (
          <div key={`r${i}`} class="diff-del">- {l}</div>
        ))}
        {diff.added.map((l, i) => (
          <div key={`a${i}`} class="diff-add">+ {l}</div>
        ))}
      </pre>
      {proposal.errors.length > 0 ? (
        <div class="error-box" role="alert">
          The server's compiler refuses this change: {proposal.errors.join("; ")}
        </div>
      ) : (
        <p class="status-ok">The server's compiler accepts it.</p>
      )}
      <label>
        Comment (recorded in the change log)
        <textarea required value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      </label>
      <ErrorBox error={error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy || proposal.errors.length > 0 || comment.trim() === ""}>
          Apply as a new version
        </button>
        <button type="button" onClick={() => setProposal(null)} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Findings with their one-click fixes; a fix is offered only to whom the server lets apply it. */
export function SecurityScan({ findings, onApplied }: { findings: Finding[]; onApplied: () => void }) {
  if (findings.length === 0) return <p class="status-ok" data-testid="scan-clean">No findings.</p>;
  return (
    <ul class="findings" data-testid="scan-findings">
      {findings.map((f) => (
        <li key={f.id} class={`finding severity-${f.severity}`} data-testid="finding">
          <span class={`pill sev-${f.severity}`}>{f.severity}</span> <strong>{f.title}</strong>
          <div class="muted">
            {f.detail} {f.link && <a href={f.link}>Review</a>}
          </div>
          {f.fix && can(role.value, kindOf(f.fix) === "governance" ? "governance.write" : "policies.write") && (
            <FixPanel finding={f as Finding & { fix: Fix }} onApplied={onApplied} />
          )}
        </li>
      ))}
    </ul>
  );
}
