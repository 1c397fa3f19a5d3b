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

/** `POST /api/v1/test-calls` body: a real request the caller's own sidecar sends. */
export interface TestCallRequest {
  caller: string;
  target: string;
  method: string;
  path: string;
  body?: string;
  content_type?: string;
}

/** What the mesh answered a test call, and the verdict read from it. */
export interface TestCallAnswer {
  id: string;
  caller: string;
  caller_spiffe_id: string;
  target: string;
  target_spiffe_id: string;
  method: string;
  path: string;
  sent_unix: number;
  status: number;
  latency_ms: number;
  content_type?: string;
  body: string;
  body_truncated?: boolean;
  decision: "allow" | "deny";
  layer?: string;
  reason?: string;
  request_id?: string;
}

export const testCall = async (body: TestCallRequest) =>
  (await request<TestCallAnswer>("/api/v1/test-calls", { method: "POST", body })).data;
