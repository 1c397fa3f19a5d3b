import type { DryRunAnswer } from "../editor/dryRun";
import type { DocKind } from "../editor/permissions";
import { request } from "./client";
import type { PolicyDocument } from "./agents";
import type { PolicyVersion } from "./policies";

/** A target's developer policy or its admin governance block (docs/control-plane.md, "Documents"). */
export type DocumentKind = "policies" | "governance";

const path = (kind: DocumentKind, target: string) => `/api/v1/${kind}/${encodeURIComponent(target)}`;

export const getDocument = async (kind: DocumentKind, target: string) => {
  const r = await request<PolicyDocument>(path(kind, target));
  return { ...r.data, etag: r.etag ?? r.data.etag };
};

/** The server's compiler on a candidate; stores nothing. */
export const validateDocument = async (kind: DocumentKind, target: string, content: string, signal?: AbortSignal) =>
  (await request<{ valid: boolean; errors: string[] }>(`/api/v1/${kind}/validate`, { method: "POST", body: { content, target }, ...(signal ? { signal } : {}) })).data;

/** A new version; `ifMatch` (the version the change was made from) is required once one exists. */
export const putDocument = (kind: DocumentKind, target: string, content: string, comment: string, ifMatch?: string) =>
  request<PolicyDocument>(path(kind, target), { method: "PUT", body: { content, comment }, ...(ifMatch ? { ifMatch } : {}) });

// ---------------------------------------------------------------------------------------
// The Policy editor's calls. It names kinds as the documents do (`policy`, `governance`);
// the URL's segment is `policies` for the first.

export const segment = (kind: DocKind): DocumentKind => (kind === "policy" ? "policies" : "governance");

/** One stored version of a policy or governance document (with content where asked for). */
export interface DocumentVersion extends PolicyVersion {
  content?: string;
  restored_from?: number;
}

export interface LiveDocument {
  doc: DocumentVersion & { content: string };
  /** The ETag to send in If-Match: the version loaded, not whatever is current later. */
  etag: string;
}

export const listDocuments = async (kind: DocKind) =>
  (await request<{ documents: DocumentVersion[] }>(`/api/v1/${segment(kind)}`)).data.documents;

/** Every stored document of a kind with its current content (the scan and the layers page read them all). */
export const listDocumentsWithContent = async (kind: DocKind) =>
  Promise.all(
    (await listDocuments(kind)).map(async (d) => ({ target: d.target, version: d.version, content: (await getDocument(segment(kind), d.target)).content })),
  );

export async function getLive(kind: DocKind, target: string): Promise<LiveDocument> {
  const { data, etag } = await request<DocumentVersion & { content: string }>(path(segment(kind), target));
  return { doc: data, etag: etag ?? data.etag ?? "" };
}

export const documentHistory = async (kind: DocKind, target: string) =>
  (await request<{ history: DocumentVersion[] }>(`${path(segment(kind), target)}/history`)).data.history;

export const getVersion = async (kind: DocKind, target: string, version: number) =>
  (await request<DocumentVersion & { content: string }>(`${path(segment(kind), target)}/versions/${version}`)).data;

export const rollback = (kind: DocKind, target: string, version: number, comment: string, etag: string) =>
  request<DocumentVersion>(`${path(segment(kind), target)}/rollback`, { method: "POST", body: { version, comment }, ifMatch: etag });

export const dryRun = async (kind: DocKind, target: string, document: string, limit = 200) =>
  (await request<DryRunAnswer>(`${path(segment(kind), target)}/dry-run`, { method: "POST", body: { document, limit } })).data;
