import { request } from "./client";

/** One stored version's metadata, as `GET /api/v1/policies` lists it (no content). */
export interface PolicyVersion {
  kind?: string;
  target: string;
  version: number;
  etag?: string;
  sha256?: string;
  author?: { subject: string; method: string };
  time?: number;
  comment?: string;
  action?: string;
}

export const listPolicies = async () =>
  (await request<{ documents: PolicyVersion[] }>("/api/v1/policies")).data.documents;

/** `POST /api/v1/explain` body (docs/control-plane.md, "Explain"). */
export interface ExplainRequest {
  caller: string;
  target: string;
  method: string;
  path: string;
  roles?: string[];
}

export type Verdict = "allow" | "deny" | "skipped" | "requires_token";

export interface LayerVerdict {
  layer: string;
  verdict: Verdict;
  reason?: string;
  status?: number;
  rule?: string;
  detail?: string;
  required_roles?: string[];
  required_claims?: Record<string, unknown>;
  missing_roles?: string[];
}

export interface ExplainAnswer {
  caller?: string;
  method?: string;
  path?: string;
  layers: LayerVerdict[];
  decision: "allow" | "deny";
  layer?: string;
  reason?: string;
  status?: number;
  rule?: string;
  detail?: string;
  policy_version?: string;
  governance_version?: string;
}

export const explain = async (body: ExplainRequest) =>
  (await request<ExplainAnswer>("/api/v1/explain", { method: "POST", body })).data;
