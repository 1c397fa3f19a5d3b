import { describe, expect, it } from "vitest";

import type { StatsEdge } from "../src/api/stats";
import { applyFix } from "../src/overview/fixes";
import { idMatches } from "../src/overview/idMatch";
import { scan, type ScanInput } from "../src/overview/scan";

const now = 1_800_000_000;
const edge = (caller: string, target: string, allow = 1, deny = 0): StatsEdge => ({
  caller_id: caller,
  caller_name: "",
  target_id: `spiffe://example.org/${target}`,
  target_name: target,
  allow,
  deny,
  last_time_unix_us: now * 1e6,
  last_decision: allow ? "allow" : "deny",
  last_reason: "",
});
const input = (over: Partial<ScanInput>): ScanInput => ({
  now,
  agents: [],
  policies: [],
  governance: [],
  edges: [],
  edgeWindowHours: 24,
  health: null,
  ...over,
});

const broadPolicy = `# who may call the backend
version: "b.1"
allow:
  - id: spiffe://example.org/report   # the reporter
  - trust_domain: partner.example      # every partner workload
callers:
  - match: {trust_domain: partner.example}
    rules:
      - {id: partner-all, methods: ["*"], path: {prefix: /}, action: allow}
`;

describe("idMatches (docs/policy.md, ID matchers)", () => {
  it("matches a pattern segment by segment, * is one non-empty segment", () => {
    expect(idMatches("pattern", "spiffe://example.org/ns/*/sa/x", "spiffe://example.org/ns/prod/sa/x")).toBe(true);
    expect(idMatches("pattern", "spiffe://example.org/ns/*/sa/x", "spiffe://example.org/ns/a/b/sa/x")).toBe(false);
    expect(idMatches("pattern", "spiffe://example.org/ns/*/sa/x", "spiffe://other.org/ns/prod/sa/x")).toBe(false);
  });
  it("matches a trust domain only on its own IDs", () => {
    expect(idMatches("trust_domain", "example.org", "spiffe://example.org/a")).toBe(true);
    expect(idMatches("trust_domain", "example.org", "spiffe://example.org.evil/a")).toBe(false);
    expect(idMatches("trust_domain", "example.org", "spiffe://example.org/")).toBe(false);
  });
});

describe("security scan", () => {
  it("finds a catch-all allow rule and a broad allow-list entry, with a fix naming the IDs seen", () => {
    const findings = scan(
      input({
        policies: [{ target: "backend", content: broadPolicy }],
        edges: [
          edge("spiffe://partner.example/b", "backend"),
          edge("spiffe://partner.example/a", "backend"),
          edge("spiffe://partner.example/denied-only", "backend", 0, 3),
          edge("spiffe://partner.example/c", "other"),
        ],
      }),
    );
    expect(findings.map((f) => f.id)).toEqual(["allow-all:backend:partner-all", "broad-allow:backend:trust_domain:partner.example"]);
    expect(findings[0]!.severity).toBe("high");
    expect(findings[1]!.fix).toEqual({
      kind: "narrow-allow-entry",
      target: "backend",
      entry: { kind: "trust_domain", value: "partner.example" },
      ids: ["spiffe://partner.example/a", "spiffe://partner.example/b"],
    });
  });

  it("offers no fix for a broad entry nobody used", () => {
    const [, broad] = scan(input({ policies: [{ target: "backend", content: broadPolicy }] }));
    expect(broad!.fix).toBeUndefined();
    expect(broad!.detail).toMatch(/No caller used it/);
  });

  it("flags switched-off governance, stale risk, an expiring CA and failing sidecars; a clean mesh has none", () => {
    const health = {
      generated_at: now,
      server: { ca: { not_after: now + 3 * 86_400, seconds_left: 3 * 86_400 } },
      sidecars: [
        {
          spiffe_id: "spiffe://example.org/a",
          agent: "a",
          last_report_at: now,
          report_age_seconds: 1,
          stale: false,
          svid: { not_after: now + 60 },
          config: { stale: true, age_seconds: 900, source: "disk" },
        },
      ],
      agents_without_sidecar: [],
    };
    const findings = scan(
      input({
        governance: [
          { target: "backend", content: "enabled: false\nmax_risk: medium\n" },
          { target: "menus", content: "enabled: true\n" },
        ],
        agents: [
          { name: "old", risk: "low", risk_source: "admin", risk_updated: now - 40 * 86_400 },
          { name: "fresh", risk: "low", risk_updated: now - 86_400 },
        ],
        health,
      }),
    );
    expect(findings.map((f) => f.id).sort()).toEqual(
      ["ca-expiring", "stale-config:spiffe://example.org/a", "stale-risk:old", "svid-expiring:spiffe://example.org/a", "ungoverned:backend"].sort(),
    );
    expect(findings.find((f) => f.id === "ungoverned:backend")!.fix).toEqual({ kind: "enable-governance", target: "backend" });
    expect(findings.at(-1)!.severity).toBe("low");
    expect(scan(input({ governance: [{ target: "menus", content: "enabled: true\n" }], agents: [{ name: "fresh", risk_updated: now }] }))).toEqual([]);
  });
});

describe("one-click fixes keep the author's document", () => {
  it("replaces a broad entry with the IDs seen, in place, comments kept", () => {
    const out = applyFix(
      { kind: "narrow-allow-entry", target: "backend", entry: { kind: "trust_domain", value: "partner.example" }, ids: ["spiffe://partner.example/a", "spiffe://example.org/report"] },
      broadPolicy,
    );
    expect(out).toContain("# who may call the backend");
    expect(out).toContain("# the reporter");
    expect(out).not.toMatch(/- trust_domain: partner.example/);
    // the already-listed ID is not duplicated; the new one takes the broad entry's place
    expect(out.match(/spiffe:\/\/example.org\/report/g)).toHaveLength(1);
    expect(out).toMatch(/- id: spiffe:\/\/example.org\/report.*\n\s+- \{ id: spiffe:\/\/partner.example\/a \}\ncallers:/);
  });
  it("switches governance on and refuses a document that moved on", () => {
    expect(applyFix({ kind: "enable-governance", target: "b" }, "# off for the migration\nenabled: false\nmax_risk: low\n")).toBe(
      "# off for the migration\nenabled: true\nmax_risk: low\n",
    );
    expect(() =>
      applyFix({ kind: "narrow-allow-entry", target: "b", entry: { kind: "pattern", value: "spiffe://x/*" }, ids: ["spiffe://x/a"] }, broadPolicy),
    ).toThrow(/no longer has pattern/);
  });
});
