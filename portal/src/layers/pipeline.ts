import type { AuditStats } from "../api/stats";

/** The canonical order (ARCHITECTURE.md §2) when the server does not send one. */
// Admin authority first (transport, risk/state, tags), then the developer policy (RBAC, token).
export const CANONICAL_LAYERS = ["transport", "risk", "tags", "rbac", "token"];

export const layerTitles: Record<string, string> = {
  transport: "1 Transport (mTLS, allow-list)",
  rbac: "2 RBAC (method, path)",
  token: "3 Token (OAuth2/JWT)",
  risk: "4a Risk and state",
  tags: "4b Tags",
  proxy: "Upstream (the app answered or failed)",
};

export interface LayerCount {
  layer: string;
  reached: number; // requests (and handshakes) this layer evaluated
  denied: number;
  passed: number;
}

/**
 * Per-layer counters from the audit totals. The data plane stops at the first denial, so a
 * layer saw everything no earlier layer denied; what passed the last layer was allowed.
 * Denials the canonical list does not name (a malformed request, an upstream failure) are
 * counted before the pipeline as `other`, so every layer's numbers add up.
 */
export function pipelineCounts(stats: Pick<AuditStats, "layers" | "totals">): { layers: LayerCount[]; other: number; total: number } {
  const order = stats.layers.length > 0 ? stats.layers : CANONICAL_LAYERS;
  const byLayer = stats.totals.deny_by_layer;
  const known = order.reduce((n, l) => n + (byLayer[l] ?? 0), 0);
  const other = Math.max(0, stats.totals.deny - known);
  const total = stats.totals.allow + stats.totals.deny;
  let reached = total - other;
  const layers = order.map((layer) => {
    const denied = byLayer[layer] ?? 0;
    const row = { layer, reached, denied, passed: reached - denied };
    reached -= denied;
    return row;
  });
  return { layers, other, total };
}
