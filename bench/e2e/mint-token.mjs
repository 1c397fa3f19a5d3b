// Mints one ES256 access token (RFC 9068: typ at+jwt) and the JWKS that verifies it, for
// the warden-l3 bench candidate. Node built-ins only (no npm packages): node:crypto signs
// with dsaEncoding ieee-p1363, i.e. the raw r||s that JWS ES256 wants.
//
//   node mint-token.mjs OUT_DIR ISSUER AUDIENCE SUBJECT ROLE[,ROLE...]
//
// Writes OUT_DIR/l3-jwks.json (public key, kid = a random id) and OUT_DIR/l3-token.txt
// (the compact JWS, no newline). The token is valid for a day: a bench run never sees it
// expire, so the sidecar's verified-token cache serves every request after the first.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [outDir, iss, aud, sub, roles] = process.argv.slice(2);
if (!roles) {
  process.stderr.write('usage: node mint-token.mjs OUT_DIR ISSUER AUDIENCE SUBJECT ROLE[,ROLE...]\n');
  process.exit(2);
}
const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = crypto.randomBytes(8).toString('hex');
const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' };
const now = Math.floor(Date.now() / 1000);
const header = { alg: 'ES256', typ: 'at+jwt', kid };
const claims = {
  iss, sub, aud, client_id: sub, iat: now, exp: now + 86400,
  jti: crypto.randomUUID(), roles: roles.split(','),
};
const input = `${b64(header)}.${b64(claims)}`;
const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
fs.writeFileSync(path.join(outDir, 'l3-jwks.json'), JSON.stringify({ keys: [jwk] }));
fs.writeFileSync(path.join(outDir, 'l3-token.txt'), `${input}.${sig.toString('base64url')}`);
