import type { Agent } from "../api/agents";
import type { StatsEdge } from "../api/stats";

export interface GraphNode {
  id: string; // SPIFFE ID
  label: string;
  state: string; // enabled | disabled | quarantined | unregistered | unknown-peer
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  allow: number;
  deny: number;
  /** allow, deny or mixed: the colour. */
  verdict: "allow" | "deny" | "mixed";
  /** 1..8 px on a log scale of the volume: the thickness. */
  width: number;
  label: string; // "allowed/denied", or just "allowed" when nothing was denied
}

export const UNKNOWN_PEER = "unknown peer";

/**
 * The connection graph: every registered agent as a node (also those with no traffic, so a
 * silent agent is visible), plus any other SPIFFE ID seen calling; one edge per caller →
 * target pair, coloured by its decisions and as thick as its volume.
 */
export function buildGraph(agents: Agent[], edges: StatsEdge[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  for (const a of agents) if (a.spiffe_id) nodes.set(a.spiffe_id, { id: a.spiffe_id, label: a.name, state: a.state ?? "enabled" });
  const max = Math.max(1, ...edges.map((e) => e.allow + e.deny));
  const out: GraphEdge[] = [];
  for (const e of edges) {
    const source = e.caller_id || UNKNOWN_PEER;
    for (const [id, name] of [
      [source, e.caller_name],
      [e.target_id, e.target_name],
    ] as const) {
      if (!nodes.has(id)) {
        nodes.set(id, { id, label: name || (id === UNKNOWN_PEER ? "unverified peer" : id.replace(/^spiffe:\/\//, "")), state: id === UNKNOWN_PEER ? "unknown-peer" : "unregistered" });
      }
    }
    const volume = e.allow + e.deny;
    out.push({
      id: `${source}->${e.target_id}`,
      source,
      target: e.target_id,
      allow: e.allow,
      deny: e.deny,
      verdict: e.deny === 0 ? "allow" : e.allow === 0 ? "deny" : "mixed",
      width: 1 + Math.round((7 * Math.log1p(volume)) / Math.log1p(max)),
      label: e.deny > 0 ? `${e.allow}/${e.deny}` : `${e.allow}`,
    });
  }
  return { nodes: [...nodes.values()].sort((a, b) => a.label.localeCompare(b.label)), edges: out };
}
