import { listDocuments } from "../api/documents";
import { role } from "../auth/session";
import { query } from "../api/client";
import { currentPath, navigate } from "../shell/router";
import { ErrorBox } from "../ui/ErrorBox";
import { useLoad } from "../ui/useLoad";
import { DocumentEditor } from "./DocumentEditor";
import { docKinds, editorPermissions, isDocKind, type DocKind } from "./permissions";
import "./editor.css";

/** The selection lives in the address (`?kind=policy&target=budget-backend`): links and reloads keep it. */
export function selectionFromSearch(search: string): { kind: DocKind; target: string } {
  const q = new URLSearchParams(search);
  const kind = q.get("kind");
  return { kind: isDocKind(kind) ? kind : "policy", target: q.get("target") ?? "" };
}

/** Edit a target's developer policy or admin governance: validate, diff, dry-run, apply, roll back. */
export function PolicyEditorPage() {
  const search = currentPath.value.includes("?") ? currentPath.value.slice(currentPath.value.indexOf("?")) : "";
  const { kind, target } = selectionFromSearch(search);
  const docs = useLoad(() => listDocuments(kind), [kind]);
  const perms = editorPermissions(role.value, kind);
  const targets = (docs.data ?? []).map((d) => d.target).sort();
  const select = (k: DocKind, t: string) => navigate(`/policy-editor${query({ kind: k, target: t })}`);
  return (
    <section class="page policy-editor">
      <h1>Policy editor</h1>
      <p class="muted">
        A target's developer policy (layers 1–3) or its admin governance block (layers 4a/4b). Every change is validated
        with the compiler the sidecars use and recorded with its comment.
      </p>
      <div class="filters">
        <label>
          Document
          <select value={kind} onChange={(e) => select(e.currentTarget.value as DocKind, target)}>
            {docKinds.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target
          <select value={target} onChange={(e) => select(kind, e.currentTarget.value)}>
            <option value="">(choose)</option>
            {targets.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!perms.edit && (
        <p class="muted" data-testid="read-only-note">
          Read only: your role ({role.value ?? "none"}) may not change {kind === "policy" ? "developer policies" : "governance"}.
        </p>
      )}
      <ErrorBox error={docs.error} />
      {docs.data && targets.length === 0 && <p class="muted">No target has a {kind === "policy" ? "developer policy" : "governance block"}.</p>}
      {target && <DocumentEditor key={`${kind}/${target}`} kind={kind} target={target} perms={perms} />}
    </section>
  );
}
