import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, request } from "../src/api/client";
import { clearSession, expired, setTokens } from "../src/auth/session";
import { openAuditStream } from "../src/logs/stream";
import type { LogRow } from "../src/logs/buffer";

afterEach(() => {
  vi.unstubAllGlobals();
  clearSession();
});

describe("API client", () => {
  it("sends the bearer token and raises the session banner on 401", async () => {
    setTokens({ accessToken: "tok", expiresAtMs: Date.now() + 60_000 });
    const seen: Record<string, string>[] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      seen.push(init.headers as Record<string, string>);
      return new Response(JSON.stringify({ error: "unauthenticated", layer: "control_plane", reason: "token expired" }), { status: 401 });
    });
    const err = await request("/api/v1/agents").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe("token expired");
    expect(seen[0]!.Authorization).toBe("Bearer tok");
    expect(expired.value).toBe(true);
  });
});

describe("audit stream", () => {
  it("reads SSE from a fetch body and resumes with Last-Event-ID, never the token in the URL", async () => {
    setTokens({ accessToken: "tok", expiresAtMs: Date.now() + 60_000 });
    const requests: { url: string; headers: Record<string, string> }[] = [];
    const enc = new TextEncoder();
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      requests.push({ url, headers: init.headers as Record<string, string> });
      const chunks = requests.length === 1 ? [": connected\n\nid: 4\nda", 'ta: {"decision":"deny"}\n\n'] : [];
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const ch of chunks) c.enqueue(enc.encode(ch));
          if (requests.length === 1) c.close();
        },
      });
      return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
    });
    const rows: LogRow[] = [];
    const stop = openAuditStream({ decision: "deny" }, { onRow: (r) => rows.push(r), onStatus: () => {} });
    await vi.waitFor(() => expect(requests.length).toBe(2), { timeout: 3000 });
    stop();
    expect(rows).toEqual([{ id: 4, event: { decision: "deny" } }]);
    expect(requests[0]!.url).toBe("/api/v1/audit/stream?decision=deny");
    expect(requests[0]!.headers.Authorization).toBe("Bearer tok");
    expect(requests[1]!.headers["Last-Event-ID"]).toBe("4");
    expect(requests.every((r) => !r.url.includes("tok"))).toBe(true);
  });
});
