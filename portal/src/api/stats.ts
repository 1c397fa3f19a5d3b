import { query, request } from "./client";

/** One time bucket of `GET /api/v1/audit/stats` (docs/control-plane.md, "Audit statistics"). */
export interface StatsBucket {
  start: number; // unix seconds
  allow: number;
  deny: number;
  deny_by_layer: Record<string, number>;
}

/** A caller → target pair seen in the range; caller_id "" is a handshake with no verified peer. */
export interface StatsEdge {
  caller_id: string;
  caller_name: string;
  target_id: string;
  target_name: string;
  allow: number;
  deny: number;
  last_time_unix_us: number;
  last_decision: string;
  last_reason: string;
}

export interface AuditStats {
  since: number;
  until: number;
  bucket_seconds: number;
  layers: string[];
  series: StatsBucket[];
  totals: {
    allow: number;
    deny: number;
    deny_by_layer: Record<string, number>;
    deny_by_reason: Record<string, number>;
  };
  edges: StatsEdge[];
}

export const getAuditStats = async (p: { since?: number; until?: number; bucket?: number }) =>
  (await request<AuditStats>(`/api/v1/audit/stats${query(p)}`)).data;
