import { authHeaders, query, toApiError } from "../api/client";
import type { LogRow } from "./buffer";
import { SseParser } from "./sse";

export type StreamStatus = { kind: "connecting" } | { kind: "live" } | { kind: "retrying"; why: string } | { kind: "stopped"; why: string };

export interface StreamCallbacks {
  onRow: (row: LogRow) => void;
  onStatus: (s: StreamStatus) => void;
}

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * Reads the audit SSE stream with fetch(), so the token travels in a header, and reconnects
 * with Last-Event-ID after a drop so no event is lost or shown twice. Returns stop().
 */
export function openAuditStream(filter: Record<string, string | number>, cb: StreamCallbacks): () => void {
  const abort = new AbortController();
  let lastId: string | null = null;
  let delay = MIN_RETRY_MS;

  const run = async () => {
    while (!abort.signal.aborted) {
      cb.onStatus({ kind: "connecting" });
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const r = await fetch(`/api/v1/audit/stream${query(filter)}`, { headers: authHeaders(headers), signal: abort.signal, cache: "no-store" });
        if (!r.ok) {
          const err = await toApiError(r);
          // Retrying a refusal would only repeat it; 401 also raises the session banner.
          if (r.status < 500) return cb.onStatus({ kind: "stopped", why: `${err.status} ${err.code}: ${err.reason}` });
          throw err;
        }
        if (!r.body) throw new Error("the stream has no body");
        await consume(r.body, (row) => {
          delay = MIN_RETRY_MS;
          lastId = String(row.id);
          cb.onRow(row);
        }, () => cb.onStatus({ kind: "live" }));
        throw new Error("the server closed the stream");
      } catch (e) {
        if (abort.signal.aborted) return;
        cb.onStatus({ kind: "retrying", why: e instanceof Error ? e.message : String(e) });
        await sleep(delay, abort.signal);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  };
  void run();
  return () => abort.abort();
}

async function consume(body: ReadableStream<Uint8Array>, onRow: (r: LogRow) => void, onLive: () => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser(
    (e) => {
      const id = Number(e.id);
      let event: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(e.data);
        event = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : { value: parsed };
      } catch {
        event = { unparsed: e.data };
      }
      if (Number.isFinite(id)) onRow({ id, event });
    },
    () => onLive(),
  );
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.releaseLock();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}
