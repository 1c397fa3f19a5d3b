// A stand-in for one Microsoft Entra tenant, offline, for Warden's Entra interop test
// (tests/integration/entra_interop_test.cc). It does what identity-standards §8.1 and §8.2
// say Entra does, with npm `jose` (an independent JOSE implementation):
//
// §8.1, workload identity federation: the token endpoint takes ONLY the FIC form
//   POST /<tid>/oauth2/v2.0/token
//   grant_type=client_credentials & client_id=<app id> & scope=<resource>/.default
//   & client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
//   & client_assertion=<external JWT>
// and checks the external JWT like Entra: the app's federated identity credentials (FICs)
// are looked up by the token's `iss` (exact, case-sensitive); `<iss>/.well-known/
// openid-configuration` and its `jwks_uri` are fetched over HTTPS (roots: external_ca),
// the discovery document must name exactly that issuer; the signature must verify with
// those keys and an RSA algorithm (Entra refuses ES* assertions with AADSTS5002738); `exp`
// and `nbf` with 60 s of skew; then a FIC must hold the token's `aud` (string or array)
// and exactly its `sub`. No replay check on the assertion: Entra takes the same projected
// token many times (the Azure SDKs re-read AZURE_FEDERATED_TOKEN_FILE).
//
// §8.2, access tokens: the version is the RESOURCE app's `requested_access_token_version`
// (2, else v1), not the endpoint's. Both are RS256 with header {typ: "JWT", alg, kid, x5t}
// (kid = x5t = base64url SHA-1 of the signing certificate, as Entra does), iat = nbf =
// five minutes back, exp = now + expires_in, and the claims of an app-only token:
//   v2: aud = the resource's app id (GUID), iss = <base>/<tid>/v2.0, azp, azpacr "2",
//       oid, sub (= oid), tid, roles (only when assigned), uti, rh, aio, ver "2.0"
//   v1: aud = the resource as the scope named it (App ID URI), iss =
//       https://sts.windows.net/<tid>/ (kept literally: it is only ever compared), idp,
//       appid, appidacr "2", oid, sub, tid, roles, uti, rh, aio, ver "1.0"
// The answer is Entra v2's: {token_type: "Bearer", expires_in: <number>, ext_expires_in,
// access_token} with Cache-Control: no-store, no-cache.
//
// Errors have Entra's shape: {error, error_description: "AADSTS<n>: ... Trace ID: ...
// Correlation ID: ... Timestamp: ...", error_codes: [n], timestamp, trace_id,
// correlation_id, error_uri}. Codes and wording follow what Entra is publicly reported to
// send: 700211/700212/700213 "No matching federated identity record found for presented
// assertion issuer/audience/subject" (401 invalid_client), 5002738 for an ES256 assertion,
// 700016 unknown app, 900144 missing parameter, 901002 `resource` on the v2 endpoint,
// 1002012 scope without /.default, 500011 unknown resource, 70003 other grants, 50166 the
// external OIDC endpoint failed. Where the code Entra uses for a FIC is not known (a bad
// signature: 50013; outside its validity: 700024), the closest documented one. Stricter
// than Entra on purpose: any parameter outside the FIC form is refused (Entra ignores
// unknown ones), so the test sees exactly what the sidecar sends.
//
// Usage: node entra_standin.mjs <options.json>
// Options:
//   cert, key        PEM files: this tenant's HTTPS server (127.0.0.1, a test CA)
//   external_ca      PEM roots for the FIC issuers' discovery and JWKS
//   work_dir         where the token-signing certificate is made (openssl; RSA 2048)
//   tenant           the tenant id (GUID)
//   expires_in       access-token lifetime in seconds (default 3599, as Entra answers)
//   applications: [{app_id, object_id, display_name,
//                   identifier_uri?, requested_access_token_version? (2 | 1 | null),
//                   federated_identity_credentials?: [{name, issuer, subject, audiences: [1]}],
//                   app_role_assignments?: {"<resource identifier_uri>": ["Role", ...]}}]
// Listeners on 127.0.0.1, ephemeral ports, announced as one line on stdout:
//   READY {"base","tenant","issuer_v2","issuer_v1","discovery_v2","discovery_v1",
//          "token_endpoint","control"}
// Public (HTTPS): GET /<tid>/v2.0/.well-known/openid-configuration,
//   GET /<tid>/.well-known/openid-configuration (v1), GET /<tid>/discovery/v2.0/keys,
//   GET /common/discovery/keys (v1's jwks_uri), POST /<tid>/oauth2/v2.0/token.
// Control (HTTP, test only; JSON):
//   GET  /stats   {token_requests, issued, refused, errors: [{status, error, code}],
//                  last_form (without client_assertion), assertions: [{iss, sub, aud, alg,
//                  kid}], last_issued: {header, claims, response (without the token)}}
//   POST /fics {app_id, federated_identity_credentials: [...]}   replace an app's FICs
//   POST /issue {client_app_id, scope, key: "published"|"unpublished"|"same-kid-other-key"}
//        -> {access_token}: a token built exactly as the endpoint builds it, without client
//        authentication: how the test gets tokens for other audiences or signed by keys
//        the tenant does not publish.
// SIGTERM/SIGINT stop it; so does the death of the process that started it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as jose from 'jose';

const opts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const tenant = opts.tenant;
const kAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const kFicForm = ['grant_type', 'client_id', 'scope', 'client_assertion_type', 'client_assertion'];
// Entra takes RSA-signed external tokens only (ES* -> AADSTS5002738).
const kAssertionAlgs = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const kDocs = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

// The token-signing certificate, as Entra publishes it: RSA 2048, self-signed, x5c + x5t.
fs.mkdirSync(opts.work_dir, { recursive: true });
const certPath = path.join(opts.work_dir, 'entra-signing.pem');
const keyPath = path.join(opts.work_dir, 'entra-signing.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath,
  '-out', certPath, '-days', '2', '-subj', '/CN=accounts.accesscontrol.windows.net'],
{ stdio: 'ignore' });
const signingCert = new crypto.X509Certificate(fs.readFileSync(certPath));
const x5t = jose.base64url.encode(crypto.createHash('sha1').update(signingCert.raw).digest());
const signingKey = await jose.importPKCS8(fs.readFileSync(keyPath, 'utf8'), 'RS256');
const publicJwk = await jose.exportJWK(signingCert.publicKey);
const unpublished = await jose.generateKeyPair('RS256', { extractable: true });

const applications = new Map();
for (const app of opts.applications ?? []) applications.set(app.app_id, structuredClone(app));

const state = {
  expiresIn: opts.expires_in ?? 3599,
  tokenRequests: 0,
  issued: 0,
  refused: 0,
  errors: [],
  lastForm: null,
  assertions: [],
  lastIssued: null,
};
let base = '';
const issuerV2 = () => `${base}/${tenant}/v2.0`;
const issuerV1 = `https://sts.windows.net/${tenant}/`;

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
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

class EntraError extends Error {
  constructor(status, error, code, message) {
    super(`AADSTS${code}: ${message}`);
    this.status = status;
    this.error = error;
    this.code = code;
  }
}
const invalidRequest = (code, message) => new EntraError(400, 'invalid_request', code, message);
const invalidClient = (code, message) => new EntraError(401, 'invalid_client', code, message);
const missing = (name) =>
  invalidRequest(900144, `The request body must contain the following parameter: '${name}'.`);

function entraErrorBody(e) {
  const now = new Date();
  const timestamp = now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  return {
    error: e.error,
    error_description: `${e.message} Trace ID: ${traceId} Correlation ID: ${correlationId} ` +
      `Timestamp: ${timestamp}`,
    error_codes: [e.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
  };
}

// ---- discovery ----------------------------------------------------------------------------

function discoveryV2() {
  const t = `${base}/${tenant}`;
  return {
    token_endpoint: `${t}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${t}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: issuerV2(),
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name',
      'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce',
      'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${t}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

function discoveryV1() {
  const t = `${base}/${tenant}`;
  return {
    token_endpoint: `${t}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/common/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer: issuerV1,
    microsoft_multi_refresh_token: true,
    authorization_endpoint: `${t}/oauth2/authorize`,
    device_authorization_endpoint: `${t}/oauth2/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${t}/oauth2/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name',
      'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'amr',
      'nonce', 'email', 'given_name', 'family_name', 'nickname'],
    check_session_iframe: `${t}/oauth2/checksession`,
    userinfo_endpoint: `${t}/openid/userinfo`,
    kerberos_endpoint: `${t}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

// Entra's keys: no `alg`, `use: sig`, kid = x5t, the certificate in x5c; the v2 set also
// names the issuer each key signs for.
function keys(v2) {
  const key = {
    kty: 'RSA', use: 'sig', kid: x5t, x5t, n: publicJwk.n, e: publicJwk.e,
    x5c: [signingCert.raw.toString('base64')],
    cloud_instance_name: 'microsoftonline.com',
  };
  if (v2) key.issuer = issuerV2();
  return { keys: [key] };
}

// ---- the external issuer (FIC) side -------------------------------------------------------

const externalCa = opts.external_ca ? fs.readFileSync(opts.external_ca) : undefined;

function fetchJson(url) {
  return new Promise((resolve, reject) => {
    if (!url.startsWith('https://')) {
      reject(new Error(`${url} is not https`));
      return;
    }
    const req = https.get(url, { ca: externalCa, timeout: 5000 }, (res) => {
      let data = '';
      res.on('data', (chunk) => { data += chunk; });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`${url}: HTTP ${res.statusCode}`));
          return;
        }
        try { resolve(JSON.parse(data)); } catch (e) { reject(new Error(`${url}: ${e.message}`)); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}

const externalOidcFailed = (why) =>
  invalidClient(50166, `Request to External OIDC endpoint failed. (${why})`);

async function externalKeys(iss) {
  let discovery;
  try {
    discovery = await fetchJson(`${iss.replace(/\/$/, '')}/.well-known/openid-configuration`);
  } catch (e) {
    throw externalOidcFailed(e.message);
  }
  if (discovery.issuer !== iss) {
    throw externalOidcFailed(`the discovery document names issuer '${discovery.issuer}'`);
  }
  if (typeof discovery.jwks_uri !== 'string') throw externalOidcFailed('no jwks_uri');
  try {
    return jose.createLocalJWKSet(await fetchJson(discovery.jwks_uri));
  } catch (e) {
    throw externalOidcFailed(e.message);
  }
}

// Returns the FIC that admits `assertion` for `app`, or throws Entra's error.
async function checkFederatedAssertion(app, assertion) {
  let header;
  let unverified;
  try {
    header = jose.decodeProtectedHeader(assertion);
    unverified = jose.decodeJwt(assertion);
  } catch {
    throw invalidRequest(50027, 'JWT token is invalid or malformed.');
  }
  state.assertions.push({
    iss: unverified.iss ?? null, sub: unverified.sub ?? null, aud: unverified.aud ?? null,
    alg: header.alg ?? null, kid: header.kid ?? null, typ: header.typ ?? null,
  });
  if (!kAssertionAlgs.includes(header.alg)) {
    throw invalidClient(5002738, `Invalid JWT token. '${header.alg}' is not a supported signature algorithm.`);
  }
  const fics = app.federated_identity_credentials ?? [];
  const noMatch = (what, value) => invalidClient(
    { issuer: 700211, audience: 700212, subject: 700213 }[what],
    `No matching federated identity record found for presented assertion ${what} '${value ?? ''}'. ` +
      `Please check your federated identity credential Subject, Audience and Issuer against the ` +
      `presented assertion. ${kDocs}`);
  const byIssuer = fics.filter((f) => typeof unverified.iss === 'string' && f.issuer === unverified.iss);
  if (byIssuer.length === 0) throw noMatch('issuer', unverified.iss);

  const keySet = await externalKeys(unverified.iss);
  try {
    await jose.jwtVerify(assertion, keySet, {
      algorithms: kAssertionAlgs,
      issuer: unverified.iss,
      requiredClaims: ['iss', 'sub', 'aud', 'exp'],
      clockTolerance: 60,
    });
  } catch (e) {
    if (e instanceof jose.errors.JWTExpired || e.claim === 'nbf') {
      throw invalidClient(700024, 'Client assertion is not within its valid time range.');
    }
    throw invalidClient(50013, `Assertion failed signature validation. [${e.code ?? 'ERR'}: ${e.message}]`);
  }
  const audiences = Array.isArray(unverified.aud) ? unverified.aud : [unverified.aud];
  const byAudience = byIssuer.filter((f) => (f.audiences ?? []).some((a) => audiences.includes(a)));
  if (byAudience.length === 0) throw noMatch('audience', audiences.join(','));
  const fic = byAudience.find((f) => f.subject === unverified.sub);
  if (!fic) throw noMatch('subject', unverified.sub);
  return fic;
}

// ---- tokens -------------------------------------------------------------------------------

// `scope` -> the resource app and the identifier the client used, or throws.
function resourceOf(scope) {
  const values = (scope ?? '').split(' ').filter((s) => s.length > 0);
  if (values.length !== 1 || !values[0].endsWith('/.default')) {
    throw new EntraError(400, 'invalid_scope', 1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a ` +
        'scope value with /.default suffixed to the resource identifier (application ID URI).');
  }
  const identifier = values[0].slice(0, -'/.default'.length);
  for (const app of applications.values()) {
    if (app.identifier_uri === identifier || app.app_id === identifier) return { app, identifier };
  }
  throw new EntraError(400, 'invalid_resource', 500011,
    `The resource principal named ${identifier} was not found in the tenant named ${tenant}. ` +
      'This can happen if the application has not been installed by the administrator of the ' +
      'tenant or consented to by any user in the tenant.');
}

const opaque = (bytes) => jose.base64url.encode(crypto.randomBytes(bytes));

async function issue(client, scope, keyChoice = 'published') {
  const { app: resource, identifier } = resourceOf(scope);
  const now = Math.floor(Date.now() / 1000);
  const roles = (client.app_role_assignments ?? {})[resource.identifier_uri] ?? [];
  const v2 = resource.requested_access_token_version === 2;
  const claims = v2
    ? {
      aud: resource.app_id, iss: issuerV2(), iat: now - 300, nbf: now - 300,
      exp: now + state.expiresIn, aio: opaque(40), azp: client.app_id, azpacr: '2',
      oid: client.object_id, rh: `0.${opaque(48)}.`, ...(roles.length ? { roles } : {}),
      sub: client.object_id, tid: tenant, uti: opaque(16), ver: '2.0',
    }
    : {
      aud: identifier, iss: issuerV1, iat: now - 300, nbf: now - 300,
      exp: now + state.expiresIn, aio: opaque(40), appid: client.app_id, appidacr: '2',
      idp: issuerV1, oid: client.object_id, rh: `0.${opaque(48)}.`,
      ...(roles.length ? { roles } : {}), sub: client.object_id, tid: tenant, uti: opaque(16),
      ver: '1.0',
    };
  const header = { typ: 'JWT', alg: 'RS256', x5t, kid: x5t };
  let key = signingKey;
  if (keyChoice === 'unpublished') {
    key = unpublished.privateKey;
    header.kid = header.x5t = 'unpublished-signing-key-0001';
  } else if (keyChoice === 'same-kid-other-key') {
    key = unpublished.privateKey;
  }
  const token = await new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
  return { token, header, claims };
}

async function handleToken(req, res) {
  state.tokenRequests += 1;
  try {
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      throw missing('grant_type');
    }
    const form = new URLSearchParams(await readBody(req));
    const shown = {};
    for (const [name, value] of form) {
      if (name in shown) {
        throw invalidRequest(9002313, `Invalid request. Request is malformed or invalid. (${name} repeated)`);
      }
      shown[name] = name === 'client_assertion' ? '(present)' : value;
    }
    state.lastForm = shown;
    if (form.has('resource')) {
      throw invalidRequest(901002, "The 'resource' request parameter is not supported.");
    }
    for (const name of form.keys()) {
      if (!kFicForm.includes(name)) {
        throw invalidRequest(9002313, `Invalid request. Request is malformed or invalid. (unexpected parameter '${name}')`);
      }
    }
    if (!form.get('grant_type')) throw missing('grant_type');
    if (form.get('grant_type') !== 'client_credentials') {
      throw new EntraError(400, 'unsupported_grant_type', 70003,
        `The app requested an unsupported grant type '${form.get('grant_type')}'.`);
    }
    const clientId = form.get('client_id');
    if (!clientId) throw missing('client_id');
    const client = applications.get(clientId);
    if (!client) {
      throw new EntraError(400, 'unauthorized_client', 700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. ` +
          'This can happen if the application has not been installed by the administrator of ' +
          'the tenant or consented to by any user in the tenant.');
    }
    if (!form.get('scope')) throw missing('scope');
    resourceOf(form.get('scope'));
    if (!form.get('client_assertion')) {
      throw invalidClient(7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    if (form.get('client_assertion_type') !== kAssertionType) {
      throw invalidRequest(9002313,
        `Invalid request. Request is malformed or invalid. (client_assertion_type is not ${kAssertionType})`);
    }
    await checkFederatedAssertion(client, form.get('client_assertion'));
    const { token, header, claims } = await issue(client, form.get('scope'));
    const body = {
      token_type: 'Bearer', expires_in: state.expiresIn, ext_expires_in: state.expiresIn,
      access_token: token,
    };
    state.issued += 1;
    state.lastIssued = { header, claims, response: { ...body, access_token: '(present)' } };
    return send(res, 200, body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
  } catch (e) {
    if (!(e instanceof EntraError)) {
      process.stderr.write(`entra_standin: ${e.stack}\n`);
      e = new EntraError(500, 'server_error', 50000, `There was an error issuing a token. (${e.message})`);
    }
    state.refused += 1;
    state.errors.push({ status: e.status, error: e.error, code: e.code });
    process.stderr.write(`REFUSED ${e.status} ${e.error}: ${e.message}\n`);
    return send(res, e.status, entraErrorBody(e), { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
  }
}

function handlePublic(req, res) {
  const url = new URL(req.url, 'https://x');
  const p = url.pathname;
  const cached = { 'cache-control': 'max-age=86400, private' };
  if (req.method === 'POST' && p === `/${tenant}/oauth2/v2.0/token`) return handleToken(req, res);
  if (req.method === 'GET') {
    if (p === `/${tenant}/v2.0/.well-known/openid-configuration`) return send(res, 200, discoveryV2(), cached);
    if (p === `/${tenant}/.well-known/openid-configuration`) return send(res, 200, discoveryV1(), cached);
    if (p === `/${tenant}/discovery/v2.0/keys`) return send(res, 200, keys(true), cached);
    if (p === '/common/discovery/keys') return send(res, 200, keys(false), cached);
  }
  const tid = p.split('/')[1] ?? '';
  if (tid !== tenant && tid !== 'common') {
    const e = invalidRequest(90002, `Tenant '${tid}' not found.`);
    return send(res, 400, entraErrorBody(e));
  }
  return send(res, 404, { error: 'not_found', error_description: `${req.method} ${p}` });
}

// ---- control ------------------------------------------------------------------------------

async function handleControl(req, res) {
  try {
    const p = new URL(req.url, 'http://x').pathname;
    if (req.method === 'GET' && p === '/stats') {
      return send(res, 200, {
        token_requests: state.tokenRequests, issued: state.issued, refused: state.refused,
        errors: state.errors, last_form: state.lastForm, assertions: state.assertions,
        last_issued: state.lastIssued,
      });
    }
    const body = JSON.parse((await readBody(req)) || '{}');
    if (req.method === 'POST' && p === '/fics') {
      const app = applications.get(body.app_id);
      if (!app) return send(res, 404, { error: `no application ${body.app_id}` });
      app.federated_identity_credentials = body.federated_identity_credentials ?? [];
      return send(res, 200, {});
    }
    if (req.method === 'POST' && p === '/issue') {
      const client = applications.get(body.client_app_id);
      if (!client) return send(res, 404, { error: `no application ${body.client_app_id}` });
      const { token } = await issue(client, body.scope, body.key ?? 'published');
      return send(res, 200, { access_token: token });
    }
    return send(res, 404, { error: `unknown control ${req.method} ${p}` });
  } catch (e) {
    return send(res, 500, { error: String(e?.message ?? e) });
  }
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

const sockets = new Set();
const publicServer = https.createServer(
  { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }, handlePublic);
publicServer.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
const publicPort = await listen(publicServer);
base = `https://127.0.0.1:${publicPort}`;
const controlPort = await listen(http.createServer(handleControl));

const stop = () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// A test binary killed outright (a ctest timeout, SIGKILL) cannot stop us; do not outlive it.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stop(); }, 500).unref();

process.stdout.write(`READY ${JSON.stringify({
  base,
  tenant,
  issuer_v2: issuerV2(),
  issuer_v1: issuerV1,
  discovery_v2: `${base}/${tenant}/v2.0/.well-known/openid-configuration`,
  discovery_v1: `${base}/${tenant}/.well-known/openid-configuration`,
  token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
  control: controlPort,
})}\n`);
