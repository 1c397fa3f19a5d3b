// Mints Security Event Tokens with npm `jose` (an independent JOSE implementation) for
// Warden's SSF receiver interop test (identity-standards §10.6: "jose mints SETs").
//
// Usage:
//   node mint_set.mjs <out_dir> <issuer> <audience> <subject_uri>
//
// Generates an ES256 key (kid "es-1") and an RSA-2048 RS256 key (kid "rs-1", the CAEP
// interop profile's algorithm), and writes:
//   <out_dir>/jwks.json  the public JWK Set ({"keys": [...]}, each with kid, alg, use)
//   <out_dir>/sets.json  {"<case>": "<compact SET>", ...}: valid SETs of each event type,
//                        and the deliberately wrong ones of §10.6 S2 (see `cases` below)
// and prints one line on stdout: OK <number of SETs>. Usage errors exit 2.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, UnsecuredJWT, base64url, exportJWK, exportSPKI, generateKeyPair } from 'jose';

const [outDir, issuer, audience, subjectUri] = process.argv.slice(2);
if (!outDir || !issuer || !audience || !subjectUri) {
  process.stderr.write('usage: node mint_set.mjs <out_dir> <issuer> <audience> <subject_uri>\n');
  process.exit(2);
}

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';

const es = await generateKeyPair('ES256', { extractable: true });
const rs = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
// Never published: signs the forged SETs under a published kid.
const attacker = await generateKeyPair('ES256', { extractable: true });

const publicJwk = async (pair, kid, alg) =>
  ({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
const jwks = { keys: [await publicJwk(es, 'es-1', 'ES256'), await publicJwk(rs, 'rs-1', 'RS256')] };
fs.writeFileSync(path.join(outDir, 'jwks.json'), JSON.stringify(jwks));

const now = Math.floor(Date.now() / 1000);
const uriSubject = { format: 'uri', uri: subjectUri };
let serial = 0;

// A SET as SSF 1.0 profiles it (§9.1): typ secevent+jwt, iss, iat, jti, aud, txn, sub_id,
// one event; no sub, no exp. `subId: null` leaves sub_id out; `tweak` adjusts the builder.
async function mint(events, { key = es, kid = 'es-1', alg = 'ES256', typ = 'secevent+jwt',
                              subId = uriSubject, iss = issuer, aud = audience, iat = now,
                              extra = {}, tweak } = {}) {
  const payload = { events, txn: `txn-${serial}`, ...extra };
  if (subId !== null) payload.sub_id = subId;
  let jwt = new SignJWT(payload)
    .setProtectedHeader({ alg, kid, ...(typ === null ? {} : { typ }) })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt(iat)
    .setJti(`jose-${++serial}-${crypto.randomUUID()}`);
  if (tweak) jwt = tweak(jwt);
  return jwt.sign(key.privateKey);
}

const risk = (level) => ({
  [`${CAEP}risk-level-change`]: { principal: 'USER', current_level: level, previous_level: 'LOW',
                                 risk_reason: 'interop', event_timestamp: now },
});

const sets = {};
// §10.6 S1, and one valid SET of every event type Warden reads.
sets.risk_high_rs256 = await mint(risk('HIGH'), { key: rs, kid: 'rs-1', alg: 'RS256' });
sets.risk_medium_es256 = await mint(risk('MEDIUM'));
sets.session_revoked = await mint({
  [`${CAEP}session-revoked`]: { initiating_entity: 'policy', reason_admin: { en: 'Landspeed' },
                               event_timestamp: now } });
sets.credential_change_revoke = await mint(
  { [`${CAEP}credential-change`]: { credential_type: 'x509', change_type: 'revoke',
                                   x509_serial: '0a1b2c' } },
  { key: rs, kid: 'rs-1', alg: 'RS256' });
sets.token_claims_change =
  await mint({ [`${CAEP}token-claims-change`]: { claims: { role: 'ro-admin' } } });
sets.account_disabled = await mint({ [`${RISC}account-disabled`]: { reason: 'hijacking' } });
sets.account_enabled = await mint({ [`${RISC}account-enabled`]: {} });
sets.account_purged = await mint({ [`${RISC}account-purged`]: {} });
sets.credential_compromise =
  await mint({ [`${RISC}credential-compromise`]: { credential_type: 'password' } });
sets.stream_updated =
  await mint({ [`${SSF}stream-updated`]: { status: 'paused', reason: 'maintenance' } },
             { subId: { format: 'opaque', id: 'stream-1' } });
sets.verification = await mint({ [`${SSF}verification`]: { state: 'state-42' } },
                               { subId: { format: 'opaque', id: 'stream-1' } });
sets.verification_wrong_state = await mint({ [`${SSF}verification`]: { state: 'state-41' } },
                                           { subId: { format: 'opaque', id: 'stream-1' } });
sets.complex_subject = await mint({ [`${CAEP}session-revoked`]: {} }, {
  subId: { format: 'complex', user: { format: 'iss_sub', iss: 'https://idp.example', sub: 'oid-7' },
           session: { format: 'opaque', id: 'sess-1' } } });
sets.iss_sub_subject = await mint(risk('LOW'), {
  subId: { format: 'iss_sub', iss: 'https://login.example', sub: 'oid-8' } });
sets.audience_array = await mint(risk('HIGH'), { aud: ['https://someone-else.example', audience] });
// §10.6 S3: an event type Warden does not act on.
sets.unknown_event = await mint({ 'https://example.com/event-type/party': { cake: true } });

// §10.6 S2: each must be refused with the code the test expects.
const good = await mint(risk('HIGH'));
const [h, p, s] = good.split('.');
const changed = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
changed.events[`${CAEP}risk-level-change`].current_level = 'LOW';
sets.tampered = `${h}.${base64url.encode(JSON.stringify(changed))}.${s}`;  // invalid_key
sets.foreign_key = await mint(risk('HIGH'), { key: attacker });               // invalid_key
sets.unknown_kid = await mint(risk('HIGH'), { kid: 'es-404' });               // invalid_key
sets.alg_none = new UnsecuredJWT({ sub_id: uriSubject, events: risk('HIGH') })  // invalid_key
  .setIssuer(issuer).setAudience(audience).setIssuedAt(now).setJti('none-1').encode();
// HS256 keyed with the PEM of the published RSA key (RFC 8725 §2.1 confusion): invalid_key.
const rsaPem = new TextEncoder().encode(await exportSPKI(rs.publicKey));
sets.hs256_pubkey =
  await mint(risk('HIGH'), { key: { privateKey: rsaPem }, kid: 'rs-1', alg: 'HS256' });
sets.wrong_issuer = await mint(risk('HIGH'), { iss: 'https://not-a-transmitter.example' });
sets.wrong_audience = await mint(risk('HIGH'), { aud: 'https://someone-else.example' });
sets.typ_jwt = await mint(risk('HIGH'), { typ: 'JWT' });                      // invalid_request
sets.typ_missing = await mint(risk('HIGH'), { typ: null });                   // invalid_request
sets.with_exp = await mint(risk('HIGH'), { tweak: (j) => j.setExpirationTime('10m') });
sets.with_sub = await mint(risk('HIGH'), { tweak: (j) => j.setSubject(subjectUri) });
sets.two_events = await mint({ ...risk('HIGH'), [`${CAEP}session-revoked`]: {} });
sets.no_sub_id = await mint(risk('HIGH'), { subId: null });                 // invalid_request
sets.too_old = await mint(risk('HIGH'), { iat: now - 3 * 86400 });

fs.writeFileSync(path.join(outDir, 'sets.json'), JSON.stringify(sets));
process.stdout.write(`OK ${Object.keys(sets).length}\n`);
