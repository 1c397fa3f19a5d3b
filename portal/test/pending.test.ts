import { beforeEach, describe, expect, it } from "vitest";
import { beginPending, safeReturnPath, takePending } from "../src/auth/pending";

describe("sign-in state", () => {
  beforeEach(() => sessionStorage.clear());

  it("accepts the state it issued, once", () => {
    const p = beginPending(sessionStorage, "v", "/agents/x?tab=1", 1000);
    const r = takePending(sessionStorage, p.state, 2000);
    expect(r).toEqual({ ok: true, pending: p });
    expect(takePending(sessionStorage, p.state, 2000).ok).toBe(false);
  });

  it("refuses another state and forgets the attempt", () => {
    const p = beginPending(sessionStorage, "v", "/", 0);
    expect(takePending(sessionStorage, p.state + "x", 0).ok).toBe(false);
    expect(takePending(sessionStorage, p.state, 0).ok).toBe(false);
  });

  it("refuses a missing state, no attempt, and an old attempt", () => {
    beginPending(sessionStorage, "v", "/", 0);
    expect(takePending(sessionStorage, null, 0).ok).toBe(false);
    expect(takePending(sessionStorage, "s", 0).ok).toBe(false);
    const p = beginPending(sessionStorage, "v", "/", 0);
    expect(takePending(sessionStorage, p.state, 11 * 60 * 1000).ok).toBe(false);
  });

  it("makes states unguessable", () => {
    const a = beginPending(sessionStorage, "v", "/", 0).state;
    const b = beginPending(sessionStorage, "v", "/", 0).state;
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(22);
  });

  it("returns only to same-origin paths", () => {
    expect(safeReturnPath("/logs?caller=a")).toBe("/logs?caller=a");
    expect(safeReturnPath("//evil.example/x")).toBe("/");
    expect(safeReturnPath("/\\evil.example")).toBe("/");
    expect(safeReturnPath("https://evil.example")).toBe("/");
    expect(safeReturnPath("/callback?code=1")).toBe("/");
  });
});
