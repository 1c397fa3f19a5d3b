import { request } from "./client";

/** What a sidecar last reported about itself (docs/sidecar.md, "Status reports"). */
export interface SidecarReport {
  spiffe_id: string;
  agent: string;
  last_report_at: number;
  report_age_seconds: number;
  stale: boolean;
  version?: string;
  started_at?: number;
  svid?: { spiffe_id?: string; not_after?: number };
  bundles?: Array<{ trust_domain: string; source?: string; updated_at?: number; refreshed_at?: number; stale?: boolean }>;
  jwks?: Array<{ issuer: string; keys?: number; last_success?: number; last_error?: string; ready?: boolean }>;
  config?: {
    policy_version?: string;
    governance_version?: string;
    generation?: number;
    age_seconds?: number;
    stale?: boolean;
    source?: string;
  };
  layers?: Record<string, { allow: number; deny: number }>;
  [extra: string]: unknown;
}

/** `GET /api/v1/health`: the server's components and every sidecar's last report. */
export interface Health {
  generated_at: number;
  server: {
    version?: string;
    started_at?: number;
    trust_domain?: string;
    store?: { ok: boolean; schema_version?: number; path?: string; size_bytes?: number; audit_events?: number };
    ca?: { not_before?: number; not_after: number; seconds_left: number };
    bundles?: Array<{ trust_domain: string; source?: string; refreshed_at?: number; stale?: boolean }>;
    token_service?: { issuer: string; keys: Array<{ kid: string; state: string; not_after?: number }> };
    identity_providers?: Array<{ issuer: string; ready: boolean }>;
  };
  sidecars: SidecarReport[];
  agents_without_sidecar: string[];
}

export const getHealth = async () => (await request<Health>("/api/v1/health")).data;
