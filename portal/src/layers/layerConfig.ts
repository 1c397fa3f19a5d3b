import { tagsText } from "../ui/format";

/** What each layer enforces for one target, read from its documents (docs/policy.md, docs/governance.md). */
export interface TargetConfig {
  target: string;
  version: number;
  allowEntries: number;
  broadEntries: number;
  callers: number;
  rules: number;
  issuers: Array<{ issuer: string; algorithms: string[]; audiences: string[] }>;
  governed: boolean;
  maxRisk: string;
  requiredTags: string;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const strings = (v: unknown): string[] => list(v).map(String);

// The server's defaults for a target with no stored governance block (docs/governance.md).
const DEFAULT_MAX_RISK = "medium";

export function layerConfig(target: string, version: number, policy: unknown, governance: unknown | null): TargetConfig {
  const p = obj(policy);
  const allow = list(p["allow"]).map(obj);
  const callers = list(p["callers"]).map(obj);
  const issuers = list(obj(p["token"])["issuers"])
    .map(obj)
    .map((i) => ({ issuer: String(i["issuer"] ?? ""), algorithms: strings(i["algorithms"]), audiences: strings(i["audiences"]) }));
  const g = governance === null ? null : obj(governance);
  return {
    target,
    version,
    allowEntries: allow.length,
    broadEntries: allow.filter((e) => !("id" in e)).length,
    callers: callers.length,
    rules: callers.reduce((n, c) => n + list(c["rules"]).length, 0),
    issuers,
    governed: g === null || g["enabled"] !== false,
    maxRisk: g && typeof g["max_risk"] === "string" ? g["max_risk"] : DEFAULT_MAX_RISK,
    requiredTags: g ? tagsText(obj(g["required_tags"]) as Record<string, string>) : "",
  };
}
