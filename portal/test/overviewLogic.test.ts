import { describe, expect, it } from "vitest";

import type { Health } from "../src/api/health";
import type { StatsEdge } from "../src/api/stats";
import { lastSeen } from "../src/agents/lastSeen";
import { caLevel, humanDuration, svidLevel } from "../src/health/durations";
import { layerConfig } from "../src/layers/layerConfig";
import { pipelineCounts } from "../src/layers/pipeline";
import { buildGraph, UNKNOWN_PEER } from "../src/overview/graph";
import { healthTiles } from "../src/overview/HealthStrip";
import { tokenFacts } from "../src/policies/tokenClaims";

const layers = ["transport", "risk", "tags", "rbac", "token"];

describe("pipeline counters (ARCHITECTURE.md §2: the first layer that denies decides)", () => {
  it("each layer evaluates what the earlier ones passed; what passes the last is allowed", () => {
    const c = pipelineCounts({
      layers,
      totals: { allow: 50, deny: 20, deny_by_layer: { transport: 4, rbac: 6, token: 3, risk: 2, tags: 1 }, deny_by_reason: {} },
    });
    expect(c.total).toBe(70);
    expect(c.other).toBe(4); // 20 denials, 16 of them by a named layer
    expect(c.layers.map((l) => [l.layer, l.reached, l.denied, l.passed])).toEqual([
      ["transport", 66, 4, 62],
      ["risk", 62, 2, 60],
      ["tags", 60, 1, 59],
      ["rbac", 59, 6, 53],
      ["token", 53, 3, 50],
    ]);
    expect(c.layers.at(-1)!.passed).toBe(50); // = allowed
  });
  it("uses the canonical order when the server sends none", () => {
    const c = pipelineCounts({ layers: [], totals: { allow: 1, deny: 1, deny_by_layer: { tags: 1 }, deny_by_reason: {} } });
    expect(c.layers.map((l) => l.layer)).toEqual(layers);
    expect(c.other).toBe(0);
  });
});

const edge = (caller: string, target: string, allow: number, deny: number): StatsEdge => ({
  caller_id: caller,
  caller_name: caller ? caller.split("/").pop()! : "",
  target_id: target,
  target_name: target.split("/").pop()!,
  allow,
  deny,
  last_time_unix_us: 0,
  last_decision: "",
  last_reason: "",
});

describe("connection graph", () => {
  it("shows every agent, unknown peers, colours by decisions and thickness by volume", () => {
    const g = buildGraph(
      [
        { name: "report", spiffe_id: "spiffe://e/report", state: "enabled" },
        { name: "backend", spiffe_id: "spiffe://e/backend" },
        { name: "idle", spiffe_id: "spiffe://e/idle", state: "quarantined" },
      ],
      [edge("spiffe://e/report", "spiffe://e/backend", 1000, 0), edge("spiffe://e/menus", "spiffe://e/backend", 2, 3), edge("", "spiffe://e/backend", 0, 1)],
    );
    expect(g.nodes.map((n) => [n.label, n.state])).toEqual([
      ["backend", "enabled"],
      ["idle", "quarantined"],
      ["menus", "unregistered"],
      ["report", "enabled"],
      ["unverified peer", "unknown-peer"],
    ]);
    expect(g.edges.map((e) => [e.source, e.verdict, e.width])).toEqual([
      ["spiffe://e/report", "allow", 8],
      ["spiffe://e/menus", "mixed", 3],
      [UNKNOWN_PEER, "deny", 2],
    ]);
  });
});

describe("layer configuration per target", () => {
  it("reads the allow-list, rules, issuers and governance; no stored block means the default", () => {
    const policy = {
      allow: [{ id: "spiffe://e/a" }, { trust_domain: "partner" }],
      token: { issuers: [{ issuer: "https://t", algorithms: ["ES256"], audiences: ["api://b"] }] },
      callers: [{ match: { id: "spiffe://e/a" }, rules: [{}, {}] }, { match: { trust_domain: "partner" }, rules: [{}] }],
    };
    expect(layerConfig("b", 3, policy, null)).toEqual({
      target: "b",
      version: 3,
      allowEntries: 2,
      broadEntries: 1,
      callers: 2,
      rules: 3,
      issuers: [{ issuer: "https://t", algorithms: ["ES256"], audiences: ["api://b"] }],
      governed: true,
      maxRisk: "medium",
      requiredTags: "",
    });
    const off = layerConfig("b", 1, {}, { enabled: false, max_risk: "low", required_tags: { team: "fin" } });
    expect([off.governed, off.maxRisk, off.requiredTags, off.issuers]).toEqual([false, "low", "team=fin", []]);
  });
});

describe("health", () => {
  const base: Health = { generated_at: 0, server: {}, sidecars: [], agents_without_sidecar: [] };
  it("turns a failing store, stale sidecars and a near CA into red and amber tiles", () => {
    const tiles = healthTiles({
      ...base,
      server: { store: { ok: false }, ca: { not_after: 0, seconds_left: 10 * 86_400 }, token_service: { issuer: "t", keys: [{ kid: "k", state: "next" }] } },
      sidecars: [{ spiffe_id: "a", agent: "a", last_report_at: 0, report_age_seconds: 100, stale: true }],
      agents_without_sidecar: ["b"],
    });
    expect(tiles.map((t) => [t.label, t.level])).toEqual([
      ["Control plane", "bad"],
      ["Sidecars", "bad"],
      ["Identity CA", "warn"],
      ["Token service", "bad"],
    ]);
    expect(tiles[1]!.value).toBe("1 reporting, 1 stale, 1 silent");
    expect(healthTiles(base).map((t) => t.level)).toEqual(["ok", "ok"]);
  });
  it("reads durations and SVID life", () => {
    expect([humanDuration(45), humanDuration(600), humanDuration(3 * 3600 + 120), humanDuration(3 * 86_400 + 7200)]).toEqual(["45s", "10m", "3h 2m", "3d 2h"]);
    expect([svidLevel(3000), svidLevel(600), svidLevel(10), svidLevel(-5)]).toEqual(["ok", "warn", "bad", "bad"]);
  });
});

const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("What If: facts of a pasted token (not verified here)", () => {
  it("takes roles (RFC 9068 §2.2.3.1) and identifying claims; Keycloak's realm roles as a fallback", () => {
    const t = `${b64({ alg: "ES256", typ: "at+jwt" })}.${b64({ iss: "https://t", sub: "spiffe://e/a", aud: ["api://b"], exp: 1_800_000_000, roles: ["Budget.Read"] })}.sig`;
    expect(tokenFacts(`Bearer ${t}`)).toEqual({ roles: ["Budget.Read"], issuer: "https://t", subject: "spiffe://e/a", audience: "api://b", expires: 1_800_000_000 });
    expect(tokenFacts(`${b64({ alg: "RS256" })}.${b64({ realm_access: { roles: ["a", 3, "b"] } })}.s`).roles).toEqual(["a", "b"]);
  });
  it("refuses what is not a JWT with a one-line reason", () => {
    expect(() => tokenFacts("abc")).toThrow(/three dot-separated parts/);
    expect(() => tokenFacts("a+b.c.d")).toThrow(/base64url/);
    expect(() => tokenFacts(`${b64({})}.${b64([1])}.s`)).toThrow(/not a JSON object/);
  });
});

describe("agents: last seen", () => {
  it("is the latest call to or from each ID", () => {
    const e = (caller: string, target: string, us: number) => ({ ...edge(caller, target, 1, 0), last_time_unix_us: us });
    const seen = lastSeen([e("spiffe://e/a", "spiffe://e/b", 5_000_000), e("spiffe://e/c", "spiffe://e/a", 9_000_000), e("", "spiffe://e/b", 2_000_000)]);
    expect(Object.fromEntries(seen)).toEqual({ "spiffe://e/a": 9, "spiffe://e/b": 5, "spiffe://e/c": 9 });
  });
});

describe("identity CA state", () => {
  const H = 3600;
  it("judges a self-rotating 24 h CA by the share of its life left, not by days", () => {
    expect([caLevel(23 * H, 24 * H), caLevel(7 * H, 24 * H), caLevel(3 * H, 24 * H)]).toEqual(["ok", "warn", "bad"]);
  });
  it("judges a long-lived CA (or one of unknown lifetime) by days", () => {
    expect([caLevel(60 * 24 * H, 365 * 24 * H), caLevel(20 * 24 * H, 365 * 24 * H), caLevel(5 * 24 * H)]).toEqual(["ok", "warn", "bad"]);
  });
});
