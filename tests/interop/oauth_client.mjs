// An independent OAuth client for Warden's token service (identity-standards §10.5, O2-O6):
// openid-client 6 for the real client flows, jose for deliberately good and bad client
// assertions, and plain fetch (undici, for TLS trust and mTLS) for raw requests.
//
// Usage:
//   node oauth_client.mjs <command> <options.json>
// The options file holds everything (so tokens and PEM paths never go through argv):
//   common:  issuer            the token service's issuer identifier (https URL)
//            ca                PEM file: roots that sign the server's certificate
//            server_id         expected SPIFFE ID (URI SAN) of the server; when absent the
//                              usual host name check applies
//            cert, key         client certificate and key (PEM files) for mTLS
//            mint_ca           PEM file: roots of fake_oidc_issuer.mjs's certificate
// Commands:
//   discover            openid-client discovery() (OIDC, then RFC 8414 placement);
//                       prints {issuer, metadata, oauth_metadata, jwks}
//   client-credentials  clientCredentialsGrant. options: client_id, auth
//                       ("private_key_jwt" with key_file + kid: openid-client signs the
//                       assertion; "assertion" with assertion: a ready-made JWT such as a
//                       JWT-SVID; "tls_client_auth": mTLS with cert/key), params {...}
//   exchange            genericGrantRequest(token-exchange) with None() client auth.
//                       options: client_id, params {...} (an object value is a recipe)
//   run                 raw requests: options.cases = [{name, form | body, method, path,
//                       headers, cert, key, repeat, tokens: {param: recipe}}]
// Recipes (run): {"text": s} | {"jose": {key_file, alg, kid, claims, header, omit,
//   exp_in}} | {"none": {claims}} | {"hs256_public": {public_file, kid, claims}} |
//   {"mint": {url, body}} (asks a fake_oidc_issuer.mjs to mint).
//   jose claims default to iat=now, exp=now+exp_in (60), jti=random; `omit` removes claims.
// Output: one JSON line. Successful grants: {status: 200, response, header, claims,
// verified} where header/claims decode the access token and verified says jose verified
// it (typ at+jwt, issuer, the service's JWKS). Errors: {status, error, body}. Exit 0 when
// the command ran (whatever the server answered), 2 on usage errors.
import fs from 'node:fs';
import crypto from 'node:crypto';
import tls from 'node:tls';
import * as client from 'openid-client';
import * as jose from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';

function usage(message) {
  process.stderr.write(`oauth_client: ${message}\n` +
    'usage: node oauth_client.mjs discover|client-credentials|exchange|run <options.json>\n');
  process.exit(2);
}

const [command, optionsPath] = process.argv.slice(2);
if (!command || !optionsPath) usage('missing arguments');
const opts = JSON.parse(fs.readFileSync(optionsPath, 'utf8'));
if (!opts.issuer) usage('options.issuer is required');

function dispatcherFor(cert, key) {
  const connect = {};
  if (opts.ca) connect.ca = fs.readFileSync(opts.ca);
  if (opts.mint_ca) connect.ca = [connect.ca, fs.readFileSync(opts.mint_ca)].filter(Boolean);
  if (cert) connect.cert = fs.readFileSync(cert);
  if (key) connect.key = fs.readFileSync(key);
  if (opts.server_id) {
    // A SPIFFE-aware client checks the server's SPIFFE ID, not a host name.
    connect.checkServerIdentity = (host, peer) => {
      const sans = (peer.subjectaltname || '').split(', ');
      if (opts.mint_ca && sans.includes(`IP Address:${host}`) && !sans.some((s) => s.startsWith('URI:'))) {
        // The fake issuer (mint recipes) has a Web PKI certificate for its IP address.
        return tls.checkServerIdentity(host, peer);
      }
      return sans.includes(`URI:${opts.server_id}`)
        ? undefined
        : new Error(`server presented ${peer.subjectaltname}, expected ${opts.server_id}`);
    };
  }
  return new Agent({ connect });
}

function fetcherFor(cert, key) {
  const dispatcher = dispatcherFor(cert, key);
  return (url, options) => undiciFetch(url, { ...options, dispatcher });
}

const defaultFetch = fetcherFor(opts.cert, opts.key);

function decode(token) {
  try {
    return { header: jose.decodeProtectedHeader(token), claims: jose.decodeJwt(token) };
  } catch {
    return {};
  }
}

async function serviceJwks() {
  const res = await defaultFetch(new URL(`${opts.issuer}/jwks`).href, { method: 'GET' });
  return res.json();
}

async function verifyAccessToken(token) {
  try {
    const jwks = jose.createLocalJWKSet(await serviceJwks());
    await jose.jwtVerify(token, jwks, { issuer: opts.issuer, typ: 'at+jwt', algorithms: ['ES256'] });
    return true;
  } catch (e) {
    return `${e.code || e.name}: ${e.message}`;
  }
}

async function tokenResult(response) {
  const { header, claims } = decode(response.access_token);
  return {
    status: 200,
    response: { ...response },
    header,
    claims,
    verified: await verifyAccessToken(response.access_token),
  };
}

function errorResult(e) {
  // openid-client throws ResponseBodyError (error, status, body) for OAuth errors.
  return {
    status: e.status ?? e.cause?.status ?? 0,
    error: e.error ?? e.code ?? e.name,
    error_description: e.error_description,
    message: e.message,
  };
}

async function discover() {
  const config = await client.discovery(new URL(opts.issuer), 'probe', undefined, client.None(),
    { [client.customFetch]: defaultFetch });
  const oauth = await client.discovery(new URL(opts.issuer), 'probe', undefined, client.None(),
    { [client.customFetch]: defaultFetch, algorithm: 'oauth2' });
  return {
    issuer: config.serverMetadata().issuer,
    metadata: config.serverMetadata(),
    oauth_metadata: oauth.serverMetadata(),
    jwks: await serviceJwks(),
  };
}

async function clientAuth() {
  switch (opts.auth) {
    case 'private_key_jwt': {
      const key = await jose.importPKCS8(fs.readFileSync(opts.key_file, 'utf8'), opts.alg || 'ES256');
      return client.PrivateKeyJwt({ key, kid: opts.kid });
    }
    case 'assertion':
      // A ready-made assertion (a JWT-SVID from the Workload API): openid-client's
      // ClientAuth is a function, so this is the supported way to send one.
      return (_as, c, body) => {
        body.set('client_id', c.client_id);
        body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        body.set('client_assertion', opts.assertion);
      };
    case 'tls_client_auth':
      return client.TlsClientAuth();
    default:
      return client.None();
  }
}

async function configuration(auth) {
  const metadata = opts.auth === 'tls_client_auth' ? { use_mtls_endpoint_aliases: true } : undefined;
  return client.discovery(new URL(opts.issuer), opts.client_id, metadata, auth,
    { [client.customFetch]: defaultFetch });
}

async function clientCredentials() {
  const config = await configuration(await clientAuth());
  try {
    return await tokenResult(await client.clientCredentialsGrant(config, opts.params || {}));
  } catch (e) {
    return errorResult(e);
  }
}

async function exchange() {
  const config = await configuration(client.None());
  // A parameter given as an object is a recipe (e.g. a token from the fake issuer).
  const params = {};
  for (const [name, value] of Object.entries(opts.params || {})) {
    params[name] = typeof value === 'object' ? await recipe(value) : value;
  }
  try {
    const response = await client.genericGrantRequest(config,
      'urn:ietf:params:oauth:grant-type:token-exchange', params);
    return await tokenResult(response);
  } catch (e) {
    return errorResult(e);
  }
}

async function recipe(r) {
  if (r.text !== undefined) return r.text;
  const now = Math.floor(Date.now() / 1000);
  const withDefaults = (spec) => {
    const claims = { iat: now, exp: now + (spec.exp_in ?? 60), jti: crypto.randomUUID(), ...spec.claims };
    for (const name of spec.omit || []) delete claims[name];
    return claims;
  };
  if (r.jose) {
    const spec = r.jose;
    const alg = spec.alg || 'ES256';
    const key = await jose.importPKCS8(fs.readFileSync(spec.key_file, 'utf8'), alg);
    return new jose.SignJWT(withDefaults(spec))
      .setProtectedHeader({ alg, kid: spec.kid, ...(spec.header || {}) })
      .sign(key);
  }
  if (r.none) return new jose.UnsecuredJWT(withDefaults(r.none)).encode();
  if (r.hs256_public) {
    // The algorithm-confusion attack: the server's (public) verification key used as an
    // HMAC secret. jose signs it when handed the PEM bytes.
    const spec = r.hs256_public;
    const secret = new TextEncoder().encode(fs.readFileSync(spec.public_file, 'utf8'));
    return new jose.SignJWT(withDefaults(spec))
      .setProtectedHeader({ alg: 'HS256', kid: spec.kid })
      .sign(secret);
  }
  if (r.mint) {
    const res = await defaultFetch(`${r.mint.url}/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r.mint.body || {}),
    });
    if (res.status !== 200) throw new Error(`mint failed: HTTP ${res.status} ${await res.text()}`);
    return res.text();
  }
  throw new Error(`unknown recipe ${JSON.stringify(r)}`);
}

async function runCase(c) {
  const form = new URLSearchParams(c.form || {});
  for (const [param, r] of Object.entries(c.tokens || {})) form.set(param, await recipe(r));
  const body = c.body !== undefined ? c.body : form.toString();
  const fetcher = c.cert || c.key ? fetcherFor(c.cert, c.key) : defaultFetch;
  const method = c.method || 'POST';
  const headers = c.headers || (method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {});
  const results = [];
  for (let i = 0; i < (c.repeat || 1); ++i) {
    const res = await fetcher(`${opts.issuer}${c.path ?? '/token'}`, {
      method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body,
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    const out = {
      status: res.status,
      body: json ?? text,
      headers: {
        'www-authenticate': res.headers.get('www-authenticate'),
        'retry-after': res.headers.get('retry-after'),
        'cache-control': res.headers.get('cache-control'),
        allow: res.headers.get('allow'),
      },
    };
    if (json?.access_token) Object.assign(out, decode(json.access_token));
    results.push(out);
  }
  return c.repeat ? results : results[0];
}

async function run() {
  const out = {};
  for (const c of opts.cases || []) {
    try {
      out[c.name] = await runCase(c);
    } catch (e) {
      out[c.name] = { status: -1, error: e.message };
    }
  }
  return out;
}

const commands = { discover, 'client-credentials': clientCredentials, exchange, run };
if (!commands[command]) usage(`unknown command ${command}`);
try {
  process.stdout.write(`${JSON.stringify(await commands[command]())}\n`);
  process.exit(0);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ status: -1, error: e.code || e.name, message: e.message, cause: String(e.cause?.message || '') })}\n`);
  process.exit(1);
}
