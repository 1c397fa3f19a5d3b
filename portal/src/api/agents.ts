import { query, request } from "./client";

export type Risk = "none" | "low" | "medium" | "high";
export type AgentState = "enabled" | "disabled" | "quarantined";

export interface Agent {
  name: string;
  spiffe_id?: string;
  client_id?: string;
  display_name?: string;
  owner?: string;
  state?: AgentState;
  risk?: Risk;
  risk_source?: string;
  risk_updated?: number;
  tags?: Record<string, string>;
  roles?: Record<string, string[]>;
  federated_credentials?: Array<Record<string, string>>;
  trust_domain?: string;
  revision?: number;
  created?: number;
  updated?: number;
  etag?: string;
}

export interface AgentRevision {
  revision: number;
  time: number;
  actor: { subject: string; method: string };
  action: string;
  comment: string;
  agent: Agent | null;
}

export interface PolicyDocument {
  version: number;
  content: string;
  author?: { subject: string; method: string };
  time?: number;
  comment?: string;
  etag?: string;
}

export interface AuditRow {
  id: number;
  source: string;
  event: Record<string, unknown>;
}

const path = (name: string) => `/api/v1/agents/${encodeURIComponent(name)}`;

export const listAgents = async () => (await request<{ agents: Agent[] }>("/api/v1/agents")).data.agents;
export const getAgent = (name: string) => request<Agent>(path(name));
export const agentHistory = async (name: string) =>
  (await request<{ history: AgentRevision[] }>(`${path(name)}/history`)).data.history;
export const getPolicy = async (target: string) =>
  (await request<PolicyDocument>(`/api/v1/policies/${encodeURIComponent(target)}`)).data;

export const setRisk = (name: string, risk: Risk, comment: string) =>
  request<Agent>(`${path(name)}/risk`, { method: "PUT", body: { risk, comment } });
export const setState = (name: string, state: AgentState, comment: string) =>
  request<Agent>(`${path(name)}/state`, { method: "PUT", body: { state, comment } });
export const isolate = (name: string, comment: string) =>
  request<Agent>(`${path(name)}/isolate`, { method: "POST", body: { comment } });
export const restoreAccess = (name: string, risk: Risk, comment: string) =>
  request<Agent>(`${path(name)}/restore-access`, { method: "POST", body: { risk, comment } });
export const setTags = (name: string, tags: Record<string, string>, comment: string, etag: string) =>
  request<Agent>(`${path(name)}/tags`, { method: "PUT", body: { tags, comment }, ifMatch: etag });

/** Audit rows in ascending id order from `fromUnix` on (the API pages forward only). */
export const auditEvents = async (filter: Record<string, string | number>) =>
  (await request<{ events: AuditRow[] }>(`/api/v1/audit/events${query(filter)}`)).data.events;
