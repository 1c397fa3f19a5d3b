import { describe, expect, it } from "vitest";
import { base64url } from "../src/auth/base64url";
import { newVerifier, s256Challenge } from "../src/auth/pkce";

// RFC 7636 Appendix B: the verifier is the base64url of these 32 octets.
const rfcOctets = [
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240,
  91, 88, 5, 88, 83, 132, 141, 121,
];

describe("PKCE", () => {
  it("encodes RFC 7636 Appendix B's verifier", () => {
    expect(base64url(new Uint8Array(rfcOctets))).toBe("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  });

  it("computes RFC 7636 Appendix B's S256 challenge", async () => {
    expect(await s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  it("makes verifiers of 43 unreserved characters that differ", () => {
    const a = newVerifier();
    expect(a).toMatch(/^[A-Za-z0-9\-._~]{43}$/);
    expect(newVerifier()).not.toBe(a);
  });
});
