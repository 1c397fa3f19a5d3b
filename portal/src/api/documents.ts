import { request } from "./client";
import type { PolicyDocument } from "./agents";

/** A target's developer policy or its admin governance block (docs/control-plane.md, "Documents"). */
export type DocumentKind = "policies" | "governance";

const path = (kind: DocumentKind, target: string) => `/api/v1/${kind}/${encodeURIComponent(target)}`;

export const getDocument = async (kind: DocumentKind, target: string) => {
  const r = await request<PolicyDocument>(path(kind, target));
  return { ...r.data, etag: r.etag ?? r.data.etag };
};

/** The server's compiler on a candidate; stores nothing. */
export const validateDocument = async (kind: DocumentKind, target: string, content: string) =>
  (await request<{ valid: boolean; errors: string[] }>(`/api/v1/${kind}/validate`, { method: "POST", body: { content, target } })).data;

/** A new version; `ifMatch` (the version the change was made from) is required once one exists. */
export const putDocument = (kind: DocumentKind, target: string, content: string, comment: string, ifMatch?: string) =>
  request<PolicyDocument>(path(kind, target), { method: "PUT", body: { content, comment }, ...(ifMatch ? { ifMatch } : {}) });
