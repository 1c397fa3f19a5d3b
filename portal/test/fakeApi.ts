import { vi } from "vitest";

type Handler = (url: URL, init: RequestInit) => Response | undefined;

/** Replaces fetch with routes answering JSON; anything unrouted is a 404 in the API's shape. */
export function fakeApi(routes: Record<string, unknown>, extra?: Handler) {
  const calls: { method: string; url: URL; init: RequestInit }[] = [];
  vi.stubGlobal("fetch", async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, "http://portal.test");
    calls.push({ method: init.method ?? "GET", url, init });
    const custom = extra?.(url, init);
    if (custom) return custom;
    const body = routes[url.pathname];
    if (body === undefined) {
      return new Response(JSON.stringify({ error: "not_found", layer: "control_plane", reason: "no such thing" }), {
        status: 404,
        headers: { "Content-Type": "application/json" },
      });
    }
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json", ETag: '"agent-x-v1"' } });
  });
  return calls;
}
