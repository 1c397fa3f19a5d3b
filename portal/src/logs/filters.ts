export interface LogFilter {
  caller: string;
  target: string;
  layer: string;
  decision: string;
  reason: string;
  /** datetime-local text in the browser's zone; empty: only events from now on. */
  since: string;
}

export const emptyFilter: LogFilter = { caller: "", target: "", layer: "", decision: "", reason: "", since: "" };

export function filterFromSearch(search: string): LogFilter {
  const q = new URLSearchParams(search);
  const f = { ...emptyFilter };
  for (const key of Object.keys(f) as (keyof LogFilter)[]) f[key] = q.get(key) ?? "";
  return f;
}

export function filterToSearch(f: LogFilter): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * The stream's query. `since` becomes `from` plus `after=0`: without a cursor the server
 * starts at the newest event, so a past start needs the replay from the first id.
 */
export function streamQuery(f: LogFilter): Record<string, string | number> {
  const q: Record<string, string | number> = {};
  for (const key of ["caller", "target", "layer", "decision", "reason"] as const) if (f[key]) q[key] = f[key];
  if (f.since) {
    const ms = new Date(f.since).getTime();
    if (!Number.isNaN(ms)) {
      q.from = Math.floor(ms / 1000);
      q.after = 0;
    }
  }
  return q;
}
