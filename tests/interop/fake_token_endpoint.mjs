// A fake OAuth 2.0 token endpoint for Warden's egress tokens (identity-standards §7.1,
// §7.3, §10.5): client_credentials with private_key_jwt (RFC 7523) or tls_client_auth
// (RFC 8705), checked with npm `jose` (an independent JOSE implementation), answering
// RFC 6749 §5.1 JSON with RFC 9068 access tokens it signs itself. It counts requests, and
// the test can take it down and bring it back.
//
// Usage:
//   node fake_token_endpoint.mjs <options.json>
// Options (all optional):
//   https: {cert, key, client_ca}   PEM files; serve HTTPS (else HTTP) and ask for a client
//                                   certificate, verified against client_ca (tls_client_auth)
//   assertion_jwks: <file>          JWKS whose keys may sign client assertions
//   expires_in: <s>                 lifetime of issued tokens (default 300)
//   roles: [..]                     `roles` claim of issued tokens
// Two listeners on 127.0.0.1, ephemeral ports, announced on stdout as one line:
//   READY {"public":<port>,"control":<port>,"issuer":"<url>","token_endpoint":"<url>/token"}
// - public: POST /token only. Every request is counted.
//   private_key_jwt: client_assertion_type must be jwt-bearer; the assertion must verify
//     against assertion_jwks (ES256/ES384/RS256), with iss = sub (= client_id when sent),
//     aud = this issuer (exactly one value), exp at most 5 minutes ahead, a jti never seen
//     before, typ JWT when present.
//   tls_client_auth: no assertion; the connection's client certificate must verify against
//     client_ca and carry URI SAN = client_id; the token gets cnf.x5t#S256.
//   Failures: 401 {"error":"invalid_client","error_description":...}; a bad form: 400
//   invalid_request. Tokens: {iss, sub = client_id, aud = resource (or the first scope
//   without "/.default"), client_id, scope, roles, iat, exp = iat + expires_in, jti} signed
//   ES256 with {typ: at+jwt, kid: tok-1}.
// - control (http, always up; JSON bodies):
//   GET  /jwks      the access-token verification keys (for the audience's sidecar)
//   GET  /stats     {"token_requests","issued","refused","reasons":[...],"clients":[...],
//                    "auth":[...],"last_form":{...} (without the assertion)}
//   POST /down, POST /up          stop / restart the public listener (same port)
//   POST /config {"expires_in": n, "omit_expires_in": bool, "token_type": s,
//                 "fail_status": n|null}
// SIGTERM/SIGINT stop it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import * as jose from 'jose';

const opts = process.argv[2] ? JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) : {};
const kAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const signing = await jose.generateKeyPair('ES256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(signing.publicKey)), kid: 'tok-1', alg: 'ES256', use: 'sig' };
const assertionKeys = opts.assertion_jwks
  ? jose.createLocalJWKSet(JSON.parse(fs.readFileSync(opts.assertion_jwks, 'utf8')))
  : null;

const state = {
  expiresIn: opts.expires_in ?? 300,
  omitExpiresIn: false,
  tokenType: 'Bearer',
  failStatus: null,
  tokenRequests: 0,
  issued: 0,
  refused: 0,
  reasons: [],
  clients: [],
  auth: [],
  lastForm: null,
  jtis: new Set(),
};
let issuer = '';

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

class OAuthError extends Error {
  constructor(status, error, description) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

async function checkAssertion(form) {
  if (form.get('client_assertion_type') !== kAssertionType) {
    throw new OAuthError(401, 'invalid_client', 'client_assertion_type is not jwt-bearer');
  }
  if (!assertionKeys) throw new OAuthError(401, 'invalid_client', 'no assertion keys configured');
  let verified;
  try {
    verified = await jose.jwtVerify(form.get('client_assertion'), assertionKeys, {
      algorithms: ['ES256', 'ES384', 'RS256'],
      audience: issuer,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
    });
  } catch (e) {
    throw new OAuthError(401, 'invalid_client', `assertion: ${e.code ?? ''} ${e.message}`);
  }
  const { payload, protectedHeader } = verified;
  if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
    throw new OAuthError(401, 'invalid_client', 'aud must name only this server');
  }
  if (payload.iss !== payload.sub) throw new OAuthError(401, 'invalid_client', 'iss != sub');
  const clientId = form.get('client_id');
  if (clientId !== null && clientId !== payload.sub) {
    throw new OAuthError(401, 'invalid_client', 'client_id != sub');
  }
  if (protectedHeader.typ !== undefined && protectedHeader.typ !== 'JWT') {
    throw new OAuthError(401, 'invalid_client', `typ ${protectedHeader.typ}`);
  }
  if (payload.exp - Math.floor(Date.now() / 1000) > 300) {
    throw new OAuthError(401, 'invalid_client', 'exp too far ahead');
  }
  if (state.jtis.has(payload.jti)) throw new OAuthError(401, 'invalid_client', 'jti replayed');
  state.jtis.add(payload.jti);
  state.auth.push({ method: 'private_key_jwt', kid: protectedHeader.kid, alg: protectedHeader.alg });
  return { clientId: payload.sub, cnf: null };
}

function checkCertificate(req, form) {
  const clientId = form.get('client_id');
  if (!clientId) throw new OAuthError(401, 'invalid_client', 'client_id is required');
  const socket = req.socket;
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(true) : null;
  if (!cert || !cert.raw) throw new OAuthError(401, 'invalid_client', 'no client certificate');
  if (!socket.authorized) {
    throw new OAuthError(401, 'invalid_client', `certificate not verified: ${socket.authorizationError}`);
  }
  const sans = (cert.subjectaltname || '').split(', ');
  if (!sans.includes(`URI:${clientId}`)) {
    throw new OAuthError(401, 'invalid_client', `certificate does not name ${clientId}`);
  }
  state.auth.push({ method: 'tls_client_auth' });
  const thumbprint = jose.base64url.encode(crypto.createHash('sha256').update(cert.raw).digest());
  return { clientId, cnf: { 'x5t#S256': thumbprint } };
}

async function handleToken(req, res) {
  state.tokenRequests += 1;
  try {
    const url = new URL(req.url, 'http://x');
    if (req.method !== 'POST' || url.pathname !== '/token') {
      throw new OAuthError(404, 'not_found', `${req.method} ${url.pathname}`);
    }
    if (!(req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
      throw new OAuthError(400, 'invalid_request', 'not a form');
    }
    const form = new URLSearchParams(await readBody(req));
    const shown = Object.fromEntries(form);
    delete shown.client_assertion;
    state.lastForm = shown;
    if (form.get('grant_type') !== 'client_credentials') {
      throw new OAuthError(400, 'unsupported_grant_type', String(form.get('grant_type')));
    }
    if (state.failStatus) throw new OAuthError(state.failStatus, 'temporarily_unavailable', 'configured failure');
    const client = form.has('client_assertion') ? await checkAssertion(form) : checkCertificate(req, form);
    const resource = form.get('resource');
    const scope = form.get('scope');
    const audience = resource ?? (scope ? scope.split(' ')[0].replace(/\/\.default$/, '') : null);
    if (!audience) throw new OAuthError(400, 'invalid_target', 'no resource or scope');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      client_id: client.clientId,
      jti: crypto.randomUUID(),
      ...(scope ? { scope } : {}),
      ...(opts.roles ? { roles: opts.roles } : {}),
      ...(client.cnf ? { cnf: client.cnf } : {}),
    };
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'tok-1', typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(client.clientId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + state.expiresIn)
      .sign(signing.privateKey);
    state.issued += 1;
    state.clients.push(client.clientId);
    const body = { access_token: token, token_type: state.tokenType };
    if (!state.omitExpiresIn) body.expires_in = state.expiresIn;
    return send(res, 200, body);
  } catch (e) {
    if (!(e instanceof OAuthError)) {
      process.stderr.write(`fake_token_endpoint: ${e.stack}\n`);
      e = new OAuthError(500, 'server_error', String(e.message));
    }
    state.refused += 1;
    state.reasons.push(e.message);
    process.stderr.write(`REFUSED ${e.status} ${e.error}: ${e.message}\n`);
    return send(res, e.status, { error: e.error, error_description: e.message });
  }
}

const sockets = new Set();
const publicServer = opts.https
  ? https.createServer({
    cert: fs.readFileSync(opts.https.cert),
    key: fs.readFileSync(opts.https.key),
    ...(opts.https.client_ca ? { ca: fs.readFileSync(opts.https.client_ca) } : {}),
    requestCert: true,
    rejectUnauthorized: false,
  }, handleToken)
  : http.createServer(handleToken);
publicServer.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

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

let publicPort = 0;
const controlServer = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'GET' && path === '/jwks') return send(res, 200, { keys: [signingJwk] });
    if (req.method === 'GET' && path === '/stats') {
      return send(res, 200, {
        token_requests: state.tokenRequests, issued: state.issued, refused: state.refused,
        reasons: state.reasons, clients: state.clients, auth: state.auth, last_form: state.lastForm,
      });
    }
    const body = JSON.parse((await readBody(req)) || '{}');
    switch (path) {
      case '/down':
        await stopPublic();
        return send(res, 200, {});
      case '/up':
        if (!publicServer.listening) await listen(publicServer, publicPort);
        return send(res, 200, {});
      case '/config':
        if ('expires_in' in body) state.expiresIn = body.expires_in;
        if ('omit_expires_in' in body) state.omitExpiresIn = body.omit_expires_in;
        if ('token_type' in body) state.tokenType = body.token_type;
        if ('fail_status' in body) state.failStatus = body.fail_status;
        return send(res, 200, {});
      default:
        return send(res, 404, { error: `unknown control ${path}` });
    }
  } catch (e) {
    return send(res, 500, { error: String(e?.message ?? e) });
  }
});

publicPort = await listen(publicServer, 0);
issuer = `${opts.https ? 'https' : 'http'}://127.0.0.1:${publicPort}`;
const controlPort = await listen(controlServer, 0);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
}
process.stdout.write(`READY ${JSON.stringify({
  public: publicPort, control: controlPort, issuer, token_endpoint: `${issuer}/token`,
})}\n`);
