import { markExpired, tokens } from "../auth/session";

/** The control plane's error body: `{error, layer, reason}` (docs/control-plane.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly layer: string | null,
    readonly reason: string,
  ) {
    super(`${status} ${code}: ${reason}`);
  }
}

export interface ApiResult<T> {
  data: T;
  etag: string | null;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  ifMatch?: string;
  signal?: AbortSignal;
  accept?: string;
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const t = tokens.value;
  return t ? { ...extra, Authorization: `Bearer ${t.accessToken}` } : extra;
}

export async function toApiError(r: Response): Promise<ApiError> {
  if (r.status === 401) markExpired();
  const text = await r.text().catch(() => "");
  try {
    const b = JSON.parse(text) as { error?: string; layer?: string; reason?: string };
    return new ApiError(r.status, b.error ?? "error", b.layer ?? null, b.reason ?? text);
  } catch {
    return new ApiError(r.status, "error", null, text || r.statusText);
  }
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { Accept: opts.accept ?? "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.ifMatch) headers["If-Match"] = opts.ifMatch;
  const init: RequestInit = { method: opts.method ?? "GET", headers: authHeaders(headers) };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  if (opts.signal) init.signal = opts.signal;
  const r = await fetch(path, init);
  if (!r.ok) throw await toApiError(r);
  const type = r.headers.get("Content-Type") ?? "";
  const text = await r.text();
  // A body-less success (an optional body the server chose to omit) is not a JSON error.
  const data = (type.includes("json") && text ? JSON.parse(text) : text) as T;
  return { data, etag: r.headers.get("ETag") };
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
