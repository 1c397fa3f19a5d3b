import { useEffect, useRef, useState } from "preact/hooks";
import { ActionForm } from "../agents/ActionForm";
import { getLive, putDocument, segment, type LiveDocument } from "../api/documents";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import { applyBlocker } from "./applyGate";
import { guardStale } from "./conflict";
import { DiffView } from "./DiffView";
import { DryRunPanel } from "./DryRunPanel";
import { HistoryPanel } from "./HistoryPanel";
import { diffStats, lineDiff } from "./lineDiff";
import { lineRange } from "./lineRange";
import type { DocKind, EditorPermissions } from "./permissions";
import { useValidation } from "./useValidation";
import { ValidationView } from "./ValidationView";
import { errorsByLine } from "./validationErrors";
import { YamlEditor } from "./YamlEditor";

interface Props {
  kind: DocKind;
  target: string;
  perms: EditorPermissions;
}

function VersionLine({ live }: { live: LiveDocument }) {
  const d = live.doc;
  return (
    <p class="muted" data-testid="live-version">
      Live version {d.version}
      {d.author && ` by ${d.author.subject}`}
      {d.time ? `, ${formatUnix(d.time)}` : ""}
      {d.comment && ` — ${d.comment}`}
    </p>
  );
}

/** One document: the live text, and for those who may, the editor and its checks. */
export function DocumentEditor({ kind, target, perms }: Props) {
  const [live, setLive] = useState<LiveDocument | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [draft, setDraft] = useState("");
  const [applying, setApplying] = useState(false);
  const [stale, setStale] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const textarea = useRef<HTMLTextAreaElement>(null);
  // The text the draft was last reset to, so a reload can tell whether it holds edits.
  const base = useRef<string | null>(null);

  // Re-reads the live version. The draft follows it only when it holds no edits of the
  // user's: a reload after a conflict, or after someone's rollback, never loses typing.
  const load = () =>
    getLive(kind, target).then(
      (l) => {
        setLive(l);
        setLoadError(null);
        setStale(false);
        const previous = base.current;
        base.current = l.doc.content;
        setDraft((d) => (previous === null || d === previous ? l.doc.content : d));
      },
      (e: unknown) => setLoadError(e),
    );
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind, target]);

  const validation = useValidation(kind, target, draft, perms.edit && live ? live.doc.content : null);
  if (loadError && !live) return <ErrorBox error={loadError} />;
  if (!live) return <p class="muted">Loading…</p>;

  const dirty = draft !== live.doc.content;
  const blocker = applyBlocker(dirty, validation.status);
  const jump = (line: number) => {
    const t = textarea.current;
    if (!t) return;
    const [start, end] = lineRange(draft, line);
    t.focus();
    t.setSelectionRange(start, end);
  };
  const changed = () => {
    setApplying(false);
    setTick((t) => t + 1);
    void load();
  };

  if (!perms.edit) {
    return (
      <>
        <VersionLine live={live} />
        <YamlEditor value={live.doc.content} label={`${target} ${kind}, live version ${live.doc.version}`} />
        <HistoryPanel kind={kind} target={target} live={live} canRollback={false} tick={tick} onChanged={changed} onStale={() => setStale(true)} />
      </>
    );
  }

  const stats = diffStats(lineDiff(live.doc.content, draft));
  return (
    <>
      <VersionLine live={live} />
      <YamlEditor
        value={draft}
        label={`${target} ${kind} (editing)`}
        onInput={(t) => (setDraft(t), setNotice(null))}
        errors={errorsByLine(validation.errors)}
        textareaRef={textarea}
      />
      <ValidationView state={validation} onJump={jump} />
      <div class="buttons">
        <button type="button" class="primary" disabled={blocker !== null || applying} title={blocker ?? undefined} onClick={() => setApplying(true)}>
          Apply…
        </button>
        <button type="button" disabled={!dirty} onClick={() => (setDraft(live.doc.content), setApplying(false))}>
          Discard changes
        </button>
        {blocker && <span class="muted" data-testid="apply-blocker">Apply: {blocker}</span>}
      </div>
      {notice && <p class="status-live" role="status">{notice}</p>}
      {stale && (
        <div class="banner banner-warn" role="alert" data-testid="stale">
          Version {live.doc.version} is no longer the live version: someone changed it since you loaded it. Your text is kept.{" "}
          <button type="button" onClick={() => void load()}>
            Load the new live version
          </button>{" "}
          and check the diff against it before applying again.
        </div>
      )}
      {applying && (
        <ActionForm
          title="Apply"
          submitLabel={`Apply as version ${live.doc.version + 1}`}
          onSubmit={(comment) => guardStale(live.doc.version, () => putDocument(segment(kind), target, draft, comment, live.etag), () => setStale(true))}
          onDone={() => (setNotice(`Applied: the sidecars enforce the new version within seconds.`), changed())}
          onCancel={() => setApplying(false)}
        >
          <p>
            Replaces live version {live.doc.version} (+{stats.added} −{stats.removed} lines, shown below).
          </p>
        </ActionForm>
      )}
      {dirty && (
        <section aria-label="Changes">
          <h2>Changes against the live version</h2>
          <DiffView before={live.doc.content} after={draft} beforeLabel={`live v${live.doc.version}`} afterLabel="your text" />
        </section>
      )}
      <h2>Dry run</h2>
      <DryRunPanel kind={kind} target={target} text={draft} disabled={validation.status !== "valid" && validation.status !== "unchanged"} />
      <HistoryPanel kind={kind} target={target} live={live} canRollback={perms.rollback} tick={tick} onChanged={changed} onStale={() => setStale(true)} />
    </>
  );
}
