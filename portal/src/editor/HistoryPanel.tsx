import { useState } from "preact/hooks";
import { ActionForm } from "../agents/ActionForm";
import { documentHistory, getVersion, rollback, type DocumentVersion, type LiveDocument } from "../api/documents";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { guardStale } from "./conflict";
import { DiffView } from "./DiffView";
import type { DocKind } from "./permissions";
import { YamlEditor } from "./YamlEditor";

interface Props {
  kind: DocKind;
  target: string;
  live: LiveDocument;
  canRollback: boolean;
  /** Bumped by the editor after every change it made, so the list is re-read. */
  tick: number;
  onChanged: () => void;
  onStale: () => void;
}

type Shown = { mode: "view" | "diff" | "rollback"; version: DocumentVersion & { content: string } };

/** Every version newest first: view one, diff it against live, roll back to it. */
export function HistoryPanel({ kind, target, live, canRollback, tick, onChanged, onStale }: Props) {
  const history = useLoad(() => documentHistory(kind, target), [kind, target, tick, live.doc.version]);
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<unknown>(null);
  const open = (mode: Shown["mode"], version: number) => {
    setError(null);
    getVersion(kind, target, version).then(
      (v) => setShown({ mode, version: v }),
      (e: unknown) => setError(e),
    );
  };
  const liveVersion = live.doc.version;
  return (
    <section aria-label="History">
      <h2>History</h2>
      <ErrorBox error={history.error ?? error} />
      {history.data && (
        <table class="grid" data-testid="history">
          <thead>
            <tr>
              <th>Version</th>
              <th>Action</th>
              <th>Author</th>
              <th>Time</th>
              <th>Comment</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {history.data.map((v) => (
              <tr key={v.version} data-testid={`history-v${v.version}`} class={shown?.version.version === v.version ? "expanded" : undefined}>
                <td>
                  {v.version}
                  {v.version === liveVersion && <span class="pill decision-allow"> live</span>}
                </td>
                <td>
                  {v.action}
                  {v.restored_from ? ` (from v${v.restored_from})` : ""}
                </td>
                <td>{v.author?.subject}</td>
                <td class="nowrap">{formatUnix(v.time)}</td>
                <td>{v.comment}</td>
                <td>
                  <div class="buttons">
                    <button type="button" onClick={() => open("view", v.version)}>
                      View
                    </button>
                    {v.version !== liveVersion && (
                      <button type="button" onClick={() => open("diff", v.version)}>
                        Diff with live
                      </button>
                    )}
                    {canRollback && v.version !== liveVersion && (
                      <button type="button" onClick={() => open("rollback", v.version)}>
                        Roll back to v{v.version}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown?.mode === "view" && (
        <div class="history-shown">
          <h3>Version {shown.version.version}</h3>
          <YamlEditor value={shown.version.content} label={`Version ${shown.version.version}`} />
        </div>
      )}
      {shown?.mode === "diff" && (
        <div class="history-shown">
          <h3>
            Version {shown.version.version} against the live version {liveVersion}
          </h3>
          <DiffView before={shown.version.content} after={live.doc.content} beforeLabel={`v${shown.version.version}`} afterLabel={`live v${liveVersion}`} />
        </div>
      )}
      {shown?.mode === "rollback" && canRollback && (
        <ActionForm
          title={`Roll back to version ${shown.version.version}`}
          submitLabel="Confirm rollback"
          onSubmit={(comment) =>
            guardStale(liveVersion, () => rollback(kind, target, shown.version.version, comment, live.etag), onStale)
          }
          onDone={() => (setShown(null), onChanged())}
          onCancel={() => setShown(null)}
        >
          <p>
            A new version {liveVersion + 1} gets version {shown.version.version}'s content (history is never rewritten); the
            sidecars enforce it within seconds. What changes against the live version:
          </p>
          <DiffView before={live.doc.content} after={shown.version.content} beforeLabel={`live v${liveVersion}`} afterLabel={`v${shown.version.version}`} />
        </ActionForm>
      )}
    </section>
  );
}
