import { parse } from "yaml";

import type { Agent } from "../api/agents";
import type { Health } from "../api/health";
import type { StatsEdge } from "../api/stats";
import { caLevel, caLifetime, humanDuration } from "../health/durations";
import { parseAllowList } from "../policies/allowList";
import { idMatches } from "./idMatch";

export type Severity = "high" | "medium" | "low";

/** A one-click fix: a new document version through the same validated, versioned path. */
export type Fix =
  | { kind: "enable-governance"; target: string }
  | { kind: "narrow-allow-entry"; target: string; entry: { kind: string; value: string }; ids: string[] };

export interface Finding {
  id: string; // stable: the UI keys rows and remembers applied fixes by it
  severity: Severity;
  title: string;
  detail: string;
  target?: string;
  link?: string;
  fix?: Fix;
}

export interface ScanInput {
  now: number; // unix seconds
  agents: Agent[];
  policies: Array<{ target: string; content: string }>;
  governance: Array<{ target: string; content: string }>; // stored blocks only
  /** caller → target pairs seen recently (GET /api/v1/audit/stats). */
  edges: StatsEdge[];
  edgeWindowHours: number;
  health: Health | null;
}

const DAY = 86_400;
export const RISK_STALE_DAYS = 30;
export const SVID_WARN_SECONDS = 300;

const severityRank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

function record(v: unknown): Record<string, unknown> | null {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function matcherOf(m: unknown): { kind: string; value: string } | null {
  const r = record(m);
  const key = r ? Object.keys(r)[0] : undefined;
  return r && key && Object.keys(r).length === 1 ? { kind: key, value: String(r[key]) } : null;
}

/** An allow rule for every method on every path: the caller's policy is "allow all". */
function isCatchAllAllow(rule: Record<string, unknown>): boolean {
  const methods = rule["methods"];
  const path = record(rule["path"]);
  return (
    rule["action"] === "allow" &&
    Array.isArray(methods) &&
    methods.includes("*") &&
    path !== null &&
    (path["prefix"] === "/" || path["pattern"] === "/*")
  );
}

function scanPolicy(target: string, content: string, edges: StatsEdge[], windowHours: number): Finding[] {
  const out: Finding[] = [];
  const link = `/policy-editor?target=${encodeURIComponent(target)}`;
  let doc: Record<string, unknown> | null;
  try {
    doc = record(parse(content));
  } catch {
    return [{ id: `unreadable:${target}`, severity: "medium", title: `${target}: policy is not readable YAML`, detail: "", target, link }];
  }
  for (const caller of Array.isArray(doc?.["callers"]) ? (doc!["callers"] as unknown[]) : []) {
    const c = record(caller);
    const match = matcherOf(c?.["match"]);
    const rules = Array.isArray(c?.["rules"]) ? (c!["rules"] as unknown[]) : [];
    for (const rule of rules) {
      const r = record(rule);
      if (!r || !isCatchAllAllow(r)) continue;
      const broad = match !== null && match.kind !== "id";
      out.push({
        id: `allow-all:${target}:${String(r["id"] ?? "")}`,
        severity: broad ? "high" : "medium",
        title: `${target}: rule ${String(r["id"] ?? "(unnamed)")} allows every method on every path`,
        detail: `For ${match ? `${match.kind} ${match.value}` : "its callers"}: layer 2 is effectively default-allow. Name the methods and paths the caller needs.`,
        target,
        link,
      });
      break; // later rules of this caller can never match anyway
    }
  }
  let allow;
  try {
    allow = parseAllowList(content);
  } catch {
    return out;
  }
  for (const e of allow.entries) {
    if (!e.broad) continue;
    const seen = [
      ...new Set(
        edges
          .filter((x) => x.target_name === target && x.caller_id && x.allow > 0 && idMatches(e.kind, e.value, x.caller_id))
          .map((x) => x.caller_id),
      ),
    ].sort();
    const finding: Finding = {
      id: `broad-allow:${target}:${e.kind}:${e.value}`,
      severity: e.kind === "trust_domain" ? "medium" : "low",
      title: `${target}: allow-list entry ${e.kind} ${e.value} admits IDs nobody named`,
      detail:
        seen.length > 0
          ? `In the last ${windowHours} h only ${seen.join(", ")} called through it.`
          : `No caller used it in the last ${windowHours} h; review it in the policy editor.`,
      target,
      link,
    };
    if (seen.length > 0 && e.kind !== "unknown") finding.fix = { kind: "narrow-allow-entry", target, entry: { kind: e.kind, value: e.value }, ids: seen };
    out.push(finding);
  }
  return out;
}

/** The security scan's findings, most severe first. Pure: everything it needs is in `input`. */
export function scan(input: ScanInput): Finding[] {
  const out: Finding[] = [];
  for (const p of input.policies) out.push(...scanPolicy(p.target, p.content, input.edges, input.edgeWindowHours));

  for (const g of input.governance) {
    let block: Record<string, unknown> | null = null;
    try {
      block = record(parse(g.content));
    } catch {
      /* the server validated it; unreadable here means a newer schema: say nothing */
    }
    if (block?.["enabled"] === false) {
      out.push({
        id: `ungoverned:${g.target}`,
        severity: "high",
        title: `${g.target}: governance is switched off`,
        detail: "Layers 4a (risk, state) and 4b (tags) are skipped: a quarantined or high-risk caller still gets through.",
        target: g.target,
        link: `/policy-editor?target=${encodeURIComponent(g.target)}&kind=governance`,
        fix: { kind: "enable-governance", target: g.target },
      });
    }
  }

  for (const a of input.agents) {
    if (!a.risk_updated || input.now - a.risk_updated <= RISK_STALE_DAYS * DAY) continue;
    const days = Math.floor((input.now - a.risk_updated) / DAY);
    out.push({
      id: `stale-risk:${a.name}`,
      severity: "low",
      title: `${a.name}: risk level ${a.risk ?? "?"} is ${days} days old`,
      detail: `Set by ${a.risk_source ?? "unknown"}; no risk signal since. Confirm it or connect a Shared Signals transmitter.`,
      link: `/agents/${encodeURIComponent(a.name)}`,
    });
  }

  const h = input.health;
  const ca = h?.server.ca;
  const caState = ca ? caLevel(ca.seconds_left, caLifetime(ca)) : "ok";
  if (ca && caState !== "ok") {
    out.push({
      id: "ca-expiring",
      severity: caState === "bad" ? "high" : "medium",
      title: `The identity CA expires in ${humanDuration(ca.seconds_left)}`,
      detail: "Every SVID chains to it and its successor is overdue: check the server's rotation (warden server logs) before it expires.",
      link: "/system-health",
    });
  }
  for (const s of h?.sidecars ?? []) {
    const name = s.agent || s.spiffe_id;
    if (s.config?.stale) {
      out.push({
        id: `stale-config:${s.spiffe_id}`,
        severity: "high",
        title: `${name}: sidecar enforces stale governance data`,
        detail: `Its configuration is ${s.config.age_seconds ?? "?"} s old (source ${s.config.source ?? "?"}); risk decisions fail closed.`,
        link: "/system-health",
      });
    }
    const notAfter = s.svid?.not_after;
    if (notAfter && notAfter - input.now < SVID_WARN_SECONDS) {
      out.push({
        id: `svid-expiring:${s.spiffe_id}`,
        severity: "high",
        title: `${name}: X.509-SVID ${notAfter <= input.now ? "has expired" : "expires in minutes"}`,
        detail: "Rotation is failing for this workload: check its Workload API socket.",
        link: "/system-health",
      });
    }
  }
  return out.sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || a.id.localeCompare(b.id));
}
