import { base64url, randomToken } from "./base64url";

// RFC 7636 §4.1: 43..128 characters; 32 random bytes give 43 and 256 bits of entropy.
export function newVerifier(): string {
  return randomToken(32);
}

export async function s256Challenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
