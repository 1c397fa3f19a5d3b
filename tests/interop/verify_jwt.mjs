// Verifies a JWT with jose (an independent JOSE implementation) against a JWKS file, for
// identity-standards §10.4 W7: a JWT-SVID from Warden's Workload API must verify against
// the JWKS the same API serves (FetchJWTBundles).
//
// Usage:
//   node verify_jwt.mjs <jwks.json> <token> <audience>
//
// <jwks.json>: a file holding a JWKS document ({"keys": [...]}).
// Output: one JSON line on stdout:
//   {"ok": true, "payload": {...}, "header": {...}}   verified (signature, kid, exp/nbf, aud)
//   {"ok": false, "error": "<jose error code or message>"}  and exit 1
// Usage errors exit 2.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [jwksPath, token, audience] = process.argv.slice(2);
if (!jwksPath || !token || !audience) {
  process.stderr.write('usage: node verify_jwt.mjs <jwks.json> <token> <audience>\n');
  process.exit(2);
}

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

try {
  const jwks = createLocalJWKSet(JSON.parse(readFileSync(jwksPath, 'utf8')));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { audience });
  print({ ok: true, payload, header: protectedHeader });
} catch (err) {
  print({ ok: false, error: err.code ?? String(err.message ?? err) });
  process.exitCode = 1;
}
