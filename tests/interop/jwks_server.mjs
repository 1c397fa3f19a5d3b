// A test OAuth issuer for Warden's layer 3 (identity-standards §7.4-§7.6, §10.3): serves an
// OIDC discovery document and a JWKS, mints access tokens with npm `jose` (an independent
// JOSE implementation), and lets the test rotate keys, take the endpoint down and bring it
// back, and watch for requests that must never come (jku/x5u targets).
//
// Usage:
//   node jwks_server.mjs [--https <cert.pem> <key.pem>] [--start-down] [--max-age <s>]
//
// Three listeners on 127.0.0.1, ephemeral ports, announced on stdout as one line:
//   READY {"public":<port>,"control":<port>,"watch":<port>,"issuer":"<url>"}
// - public (http, or https with --https): GET /.well-known/openid-configuration and
//   GET /jwks. Every request is counted per path and logged on stderr as "HIT <path>".
//   With --start-down its port is reserved but not listening until POST /up.
// - watch (http): answers 404 to anything, counting and logging "WATCH <method> <url>".
// - control (http, always up; JSON bodies):
//   POST /keys {"kid","alg"}           generate a key pair and publish its public key
//   POST /unpublish {"kid"}            drop a key from the JWKS (it can still sign)
//   POST /down, POST /up               stop / restart the public listener (same port)
//   POST /config {"max_age": s|null, "discovery_issuer": "..."|null, "jwks_status": n|null}
//   POST /mint {"kid", "claims", "header"?}   -> {"token"}: jose SignJWT with
//        {alg of the key, kid, typ: "at+jwt"} + header ("kid": null removes the kid)
//   POST /mint-none {"claims"}                -> {"token"}: jose UnsecuredJWT (alg none)
//   POST /mint-hs256-pubkey {"kid","claims"}  -> {"token"}: HS256 whose HMAC key is the
//        PEM of that RSA key's public key (the RFC 8725 §2.1 confusion attack)
//   GET /stats -> {"hits": {"<path>": n}, "watch": n}
// SIGTERM/SIGINT stop it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, base64url } from 'jose';

const args = process.argv.slice(2);
let tlsOptions = null;
let startDown = false;
let maxAge = null;
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--https') {
    tlsOptions = { cert: fs.readFileSync(args[i + 1]), key: fs.readFileSync(args[i + 2]) };
    i += 2;
  } else if (args[i] === '--start-down') {
    startDown = true;
  } else if (args[i] === '--max-age') {
    maxAge = Number(args[++i]);
  } else {
    process.stderr.write(`jwks_server: unknown argument ${args[i]}\n`);
    process.exit(2);
  }
}

const state = {
  keys: new Map(),  // kid -> {alg, privateKey, publicJwk, published}
  hits: {},
  watch: 0,
  maxAge,
  discoveryIssuer: null,
  jwksStatus: null,
};
let issuer = '';

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      try { resolve(data ? JSON.parse(data) : {}); } catch (e) { reject(e); }
    });
  });
}

// ---- public listener --------------------------------------------------------------------

function handlePublic(req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  state.hits[path] = (state.hits[path] ?? 0) + 1;
  process.stderr.write(`HIT ${path}\n`);
  if (req.method !== 'GET') return send(res, 405, { error: 'method' });
  if (path === '/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer: state.discoveryIssuer ?? issuer,
      jwks_uri: `${issuer}/jwks`,
      token_endpoint: `${issuer}/token`,
      id_token_signing_alg_values_supported: ['ES256', 'RS256', 'PS256'],
    });
  }
  if (path === '/jwks') {
    if (state.jwksStatus) return send(res, state.jwksStatus, { error: 'configured failure' });
    const keys = [...state.keys.values()].filter((k) => k.published).map((k) => k.publicJwk);
    const headers = state.maxAge === null ? {} : { 'cache-control': `public, max-age=${state.maxAge}` };
    return send(res, 200, { keys }, { ...headers, 'content-type': 'application/jwk-set+json' });
  }
  return send(res, 404, { error: 'not found' });
}

const sockets = new Set();
const publicServer = tlsOptions ? https.createServer(tlsOptions, handlePublic)
  : http.createServer(handlePublic);
publicServer.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
let publicPort = 0;

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

function stopPublic() {
  return new Promise((resolve) => {
    if (!publicServer.listening) return resolve();
    publicServer.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

// ---- keys and tokens --------------------------------------------------------------------

async function addKey(kid, alg) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  state.keys.set(kid, { alg, privateKey, publicKey, publicJwk, published: true });
}

function keyOf(kid) {
  const key = state.keys.get(kid);
  if (!key) throw new Error(`no key ${kid}`);
  return key;
}

async function mint({ kid, claims, header = {} }) {
  const key = keyOf(kid);
  const protectedHeader = { alg: key.alg, kid, typ: 'at+jwt', ...header };
  for (const [name, value] of Object.entries(protectedHeader)) {
    if (value === null) delete protectedHeader[name];
  }
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

function mintHs256WithPublicKey({ kid, claims }) {
  const key = keyOf(kid);
  const pem = crypto.createPublicKey({ key: key.publicJwk, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' });
  const input = `${base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid }))}.` +
    base64url.encode(JSON.stringify(claims));
  const mac = crypto.createHmac('sha256', pem).update(input).digest();
  return `${input}.${base64url.encode(mac)}`;
}

// ---- control listener -------------------------------------------------------------------

async function handleControl(req, res) {
  try {
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'GET' && path === '/stats') {
      return send(res, 200, { hits: state.hits, watch: state.watch });
    }
    const body = await readJson(req);
    switch (path) {
      case '/keys':
        await addKey(body.kid, body.alg);
        return send(res, 200, { kid: body.kid });
      case '/unpublish':
        keyOf(body.kid).published = false;
        return send(res, 200, {});
      case '/down':
        await stopPublic();
        return send(res, 200, {});
      case '/up':
        if (!publicServer.listening) await listen(publicServer, publicPort);
        return send(res, 200, {});
      case '/config':
        if ('max_age' in body) state.maxAge = body.max_age;
        if ('discovery_issuer' in body) state.discoveryIssuer = body.discovery_issuer;
        if ('jwks_status' in body) state.jwksStatus = body.jwks_status;
        return send(res, 200, {});
      case '/mint':
        return send(res, 200, { token: await mint(body) });
      case '/mint-none':
        return send(res, 200, { token: new UnsecuredJWT(body.claims).encode() });
      case '/mint-hs256-pubkey':
        return send(res, 200, { token: mintHs256WithPublicKey(body) });
      default:
        return send(res, 404, { error: `unknown control ${path}` });
    }
  } catch (e) {
    return send(res, 500, { error: String(e?.message ?? e) });
  }
}

const controlServer = http.createServer((req, res) => { handleControl(req, res); });
const watchServer = http.createServer((req, res) => {
  state.watch += 1;
  process.stderr.write(`WATCH ${req.method} ${req.url}\n`);
  send(res, 404, { error: 'watched' });
});

publicPort = await listen(publicServer, 0);
issuer = `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${publicPort}`;
if (startDown) await stopPublic();
const controlPort = await listen(controlServer, 0);
const watchPort = await listen(watchServer, 0);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
}
process.stdout.write(`READY ${JSON.stringify({ public: publicPort, control: controlPort, watch: watchPort, issuer })}\n`);
