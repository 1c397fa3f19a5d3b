/** What What If takes from a pasted access token. The signature is NOT verified here: the sidecar's layer 3 does that. */
export interface TokenFacts {
  roles: string[];
  issuer?: string;
  subject?: string;
  audience?: string;
  expires?: number;
}

function decodeSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) throw new Error("not base64url");
  const b64 = segment.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (segment.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * The roles and identifying claims of a compact JWS (RFC 7515 §7.1). Roles come from `roles`
 * (RFC 9068 §2.2.3.1, Entra app roles), else Keycloak's `realm_access.roles`. Throws with a
 * one-line reason when the text is not a JWT.
 */
export function tokenFacts(token: string): TokenFacts {
  const parts = token.trim().replace(/^Bearer\s+/i, "").split(".");
  if (parts.length !== 3) throw new Error("a JWT has three dot-separated parts");
  let claims: unknown;
  try {
    decodeSegment(parts[0]!);
    claims = decodeSegment(parts[1]!);
  } catch {
    throw new Error("the header or payload is not base64url-encoded JSON");
  }
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) throw new Error("the payload is not a JSON object");
  const c = claims as Record<string, unknown>;
  const realm = c["realm_access"] as Record<string, unknown> | undefined;
  const roles = Array.isArray(c["roles"]) ? strings(c["roles"]) : strings(realm?.["roles"]);
  const facts: TokenFacts = { roles };
  if (typeof c["iss"] === "string") facts.issuer = c["iss"];
  if (typeof c["sub"] === "string") facts.subject = c["sub"];
  if (typeof c["aud"] === "string" || Array.isArray(c["aud"])) facts.audience = Array.isArray(c["aud"]) ? strings(c["aud"]).join(", ") : (c["aud"] as string);
  if (typeof c["exp"] === "number") facts.expires = c["exp"];
  return facts;
}
