/**
 * Whether a SPIFFE ID matches a policy ID matcher (docs/policy.md, "ID matchers"): `id`
 * exactly, `trust_domain` every ID in it, `pattern` with `*` standing for exactly one whole,
 * non-empty path segment, the same number of segments, the trust domain always literal.
 * The server's matcher decides; this one only picks which observed callers an entry covers.
 */
export function idMatches(kind: string, value: string, id: string): boolean {
  if (kind === "id") return id === value;
  if (kind === "trust_domain") return id.startsWith(`spiffe://${value}/`) && id.length > `spiffe://${value}/`.length;
  if (kind !== "pattern") return false;
  const split = (s: string) => {
    const m = /^spiffe:\/\/([^/]+)(\/.*)?$/.exec(s);
    return m ? { td: m[1]!, segments: (m[2] ?? "").split("/").slice(1) } : null;
  };
  const p = split(value);
  const i = split(id);
  if (!p || !i || p.td !== i.td || p.segments.length !== i.segments.length) return false;
  return p.segments.every((seg, k) => (seg === "*" ? (i.segments[k] ?? "") !== "" : seg === i.segments[k]));
}
