// A Shared Signals transmitter for Warden's control-plane SSF tests (identity-standards
// §10.6 S1: "jose mints SETs; plain fetch POSTs them"): npm `jose` signs Security Event
// Tokens (RFC 8417) and undici's fetch (the implementation behind Node's global fetch, used
// for its TLS options) pushes them to `warden server` (RFC 8935).
//
// Usage:
//   node ssf_transmitter.mjs keygen <dir>
//     Generates the transmitter's RSA-2048 key (RS256, kid "tx-1": the CAEP interop
//     profile's algorithm) and an attacker's key that is never published. Writes
//     <dir>/jwks.json (the public JWK Set Warden trusts), <dir>/tx-key.json and
//     <dir>/attacker-key.json (private JWKs); prints OK.
//   node ssf_transmitter.mjs push <options.json>
//     options: url (the push endpoint), ca (PEM roots of the server's certificate),
//              server_id (the SPIFFE ID the server's certificate must carry: a SPIFFE-aware
//              client checks that, not a host name), key_dir (keygen's <dir>),
//              sets: [{name, iss, aud, sub_id, events, iat?, jti?, authorization?,
//                      forge? (sign with the attacker's key under kid tx-1),
//                      repeat? (POST the very same SET this many times)}]
//     Prints one JSON line {"results": [{name, jti, status, content_type, body}]}, one
//     result per POST, in order. Exit 0 when every POST got an answer, 1 otherwise.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { Agent, fetch } from 'undici';

function usage(message) {
  process.stderr.write(`ssf_transmitter: ${message}\n` +
    'usage: node ssf_transmitter.mjs keygen <dir> | push <options.json>\n');
  process.exit(2);
}

const [command, arg] = process.argv.slice(2);
if (!command || !arg) usage('missing arguments');

if (command === 'keygen') {
  const tx = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const attacker = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const pub = { ...(await exportJWK(tx.publicKey)), kid: 'tx-1', alg: 'RS256', use: 'sig' };
  fs.writeFileSync(path.join(arg, 'jwks.json'), JSON.stringify({ keys: [pub] }));
  fs.writeFileSync(path.join(arg, 'tx-key.json'), JSON.stringify(await exportJWK(tx.privateKey)));
  fs.writeFileSync(path.join(arg, 'attacker-key.json'),
                   JSON.stringify(await exportJWK(attacker.privateKey)));
  process.stdout.write('OK\n');
  process.exit(0);
}
if (command !== 'push') usage(`unknown command ${command}`);

const opts = JSON.parse(fs.readFileSync(arg, 'utf8'));
for (const key of ['url', 'ca', 'server_id', 'key_dir', 'sets']) {
  if (!opts[key]) usage(`options.${key} is required`);
}
const loadKey = (file) =>
  importJWK(JSON.parse(fs.readFileSync(path.join(opts.key_dir, file), 'utf8')), 'RS256');
const txKey = await loadKey('tx-key.json');
const attackerKey = await loadKey('attacker-key.json');

const dispatcher = new Agent({
  connect: {
    ca: fs.readFileSync(opts.ca),
    checkServerIdentity: (host, peer) => {
      const sans = (peer.subjectaltname || '').split(', ');
      return sans.includes(`URI:${opts.server_id}`)
        ? undefined
        : new Error(`server presented ${peer.subjectaltname}, expected ${opts.server_id}`);
    },
  },
});

const now = Math.floor(Date.now() / 1000);
const results = [];
let failed = false;
for (const spec of opts.sets) {
  const jti = spec.jti ?? `tx-${crypto.randomUUID()}`;
  // SSF 1.0 (§9.1): typ secevent+jwt; iss, iat, jti, aud, txn, sub_id, one event; no sub,
  // no exp.
  const set = await new SignJWT({ sub_id: spec.sub_id, events: spec.events, txn: `txn-${jti}` })
    .setProtectedHeader({ alg: 'RS256', kid: 'tx-1', typ: 'secevent+jwt' })
    .setIssuer(spec.iss)
    .setAudience(spec.aud)
    .setIssuedAt(spec.iat ?? now)
    .setJti(jti)
    .sign(spec.forge ? attackerKey : txKey);
  for (let i = 0; i < (spec.repeat ?? 1); ++i) {
    const headers = { 'content-type': 'application/secevent+jwt', accept: 'application/json' };
    if (spec.authorization) headers.authorization = spec.authorization;
    try {
      const res = await fetch(opts.url, { method: 'POST', headers, body: set, dispatcher });
      results.push({ name: spec.name, jti, status: res.status,
                     content_type: res.headers.get('content-type') ?? '', body: await res.text() });
    } catch (e) {
      failed = true;
      results.push({ name: spec.name, jti, status: 0, error: String(e.cause ?? e) });
    }
  }
}
process.stdout.write(`${JSON.stringify({ results })}\n`);
process.exit(failed ? 1 : 0);
