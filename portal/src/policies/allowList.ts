import { parse } from "yaml";

export type AllowKind = "id" | "pattern" | "trust_domain" | "unknown";

export interface AllowEntry {
  kind: AllowKind;
  value: string;
  /** A whole trust domain or a pattern: admits IDs nobody listed one by one. */
  broad: boolean;
}

export interface AllowList {
  entries: AllowEntry[];
  /** The policy's `version:` field (the document's own, not the store's). */
  version?: string;
}

const kinds: readonly AllowKind[] = ["id", "pattern", "trust_domain"];

/** Layer 1's allow-list of a policy document (docs/policy.md, "ID matchers"). Throws on YAML it cannot read. */
export function parseAllowList(content: string): AllowList {
  const doc: unknown = parse(content);
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("the policy is not a YAML mapping");
  const d = doc as Record<string, unknown>;
  const allow = d["allow"];
  if (allow === undefined || allow === null) throw new Error("the policy has no allow list");
  if (!Array.isArray(allow)) throw new Error("allow is not a list");
  const entries = allow.map((item: unknown): AllowEntry => {
    if (item && typeof item === "object" && !Array.isArray(item)) {
      const keys = Object.keys(item);
      const key = keys[0];
      if (keys.length === 1 && key && (kinds as readonly string[]).includes(key)) {
        const kind = key as AllowKind;
        return { kind, value: String((item as Record<string, unknown>)[key]), broad: kind !== "id" };
      }
    }
    // The server rejects such a policy; show it rather than hide it, and treat it as suspect.
    return { kind: "unknown", value: JSON.stringify(item), broad: true };
  });
  const version = d["version"];
  return version === undefined ? { entries } : { entries, version: String(version) };
}

export const kindLabel: Record<AllowKind, string> = {
  id: "ID",
  pattern: "pattern",
  trust_domain: "trust domain",
  unknown: "unrecognised",
};
