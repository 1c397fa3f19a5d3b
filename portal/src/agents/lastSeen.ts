import type { StatsEdge } from "../api/stats";

/** Each SPIFFE ID's latest call, as caller or as target, in unix seconds. */
export function lastSeen(edges: StatsEdge[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const e of edges) {
    const t = Math.floor(e.last_time_unix_us / 1e6);
    for (const id of [e.caller_id, e.target_id]) if (id && t > (seen.get(id) ?? 0)) seen.set(id, t);
  }
  return seen;
}
