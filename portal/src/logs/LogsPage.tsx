import { useEffect, useRef, useState } from "preact/hooks";
import { currentPath, navigate } from "../shell/router";
import { LogBuffer } from "./buffer";
import { downloadJsonLines } from "./exportRows";
import { type LogFilter, filterFromSearch, filterToSearch, streamQuery } from "./filters";
import { LogFilterForm } from "./LogFilterForm";
import { LogTable } from "./LogTable";
import { openAuditStream, type StreamStatus } from "./stream";

// Enough for an incident's worth of context without the table slowing the tab down.
export const MAX_ROWS = 2000;

export function LogsPage() {
  const search = currentPath.value.includes("?") ? currentPath.value.slice(currentPath.value.indexOf("?")) : "";
  const filter = filterFromSearch(search);
  const filterKey = filterToSearch(filter);
  const buffer = useRef(new LogBuffer(MAX_ROWS));
  const [, setVersion] = useState(0);
  const [status, setStatus] = useState<StreamStatus>({ kind: "connecting" });
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(new Set());

  useEffect(() => {
    buffer.current.clear();
    setExpanded(new Set());
    // Events can arrive hundreds a second; one render per frame is plenty.
    let frame = 0;
    const redraw = () => {
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        setVersion((v) => v + 1);
      });
    };
    redraw();
    const stop = openAuditStream(streamQuery(filter), {
      onRow: (row) => {
        buffer.current.add(row);
        redraw();
      },
      onStatus: setStatus,
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey]);

  const b = buffer.current;
  const visible = [...b.rows].reverse();
  const apply = (f: LogFilter) => navigate(`/logs${filterToSearch(f)}`);
  const togglePause = () => {
    if (b.paused) b.resume();
    else b.pause();
    setVersion((v) => v + 1);
  };
  const toggle = (id: number) =>
    setExpanded((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <section class="page">
      <h1>Logs</h1>
      <LogFilterForm key={filterKey} initial={filter} onApply={apply} />
      <div class="toolbar">
        <button type="button" onClick={togglePause} aria-pressed={b.paused}>
          {b.paused ? "Resume" : "Pause"}
        </button>
        <button type="button" disabled={visible.length === 0} onClick={() => downloadJsonLines(b.rows, "warden-audit.jsonl")}>
          Export visible rows (JSON lines)
        </button>
        <button
          type="button"
          onClick={() => {
            b.clear();
            setVersion((v) => v + 1);
          }}
        >
          Clear
        </button>
        <StatusText status={status} />
        <span class="muted">
          {visible.length} rows (newest {MAX_ROWS} kept)
          {b.paused && `, ${b.waiting.length} waiting`}
          {b.dropped > 0 && `, ${b.dropped} dropped while paused`}
        </span>
      </div>
      <LogTable rows={visible} expanded={expanded} onToggle={toggle} />
    </section>
  );
}

function StatusText({ status }: { status: StreamStatus }) {
  switch (status.kind) {
    case "connecting":
      return <span class="status">Connecting…</span>;
    case "live":
      return <span class="status status-live">Live</span>;
    case "retrying":
      return <span class="status status-warn">Reconnecting ({status.why})</span>;
    case "stopped":
      return (
        <span class="status status-error" role="alert">
          Stopped: {status.why}
        </span>
      );
  }
}
