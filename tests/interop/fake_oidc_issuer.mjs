// A fake external OIDC issuer shaped like GitHub Actions' (identity-standards §8.5, O6):
// serves discovery and JWKS over HTTPS on 127.0.0.1 and mints RS256 tokens with jose.
//
// Usage:
//   node fake_oidc_issuer.mjs <options.json>
// Options: cert, key (PEM files for the HTTPS server; the test's CA signs them), port
// (default 0), discovery_issuer (what the discovery document claims as `issuer`; default
// the real one: set it to test the mix-up guard).
// Endpoints:
//   GET  /.well-known/openid-configuration   {issuer, jwks_uri, ...}
//   GET  /.well-known/jwks                   the signing key only (kid gh-1)
//   POST /mint  {claims, omit, kid, rogue}   a token: defaults are GitHub's shape
//        (iss = this issuer, sub = repo:octo/app:environment:prod, aud =
//        api://AzureADTokenExchange, iat, nbf = iat - 600 (back-dated, as GitHub does),
//        exp = iat + 300, jti, repository...), overridden by `claims`, minus `omit`;
//        `rogue: true` signs with a key that is not in the JWKS (same kid unless `kid`).
// Prints one line {"issuer": "https://127.0.0.1:<port>"} when listening. Test-only: the
// mint endpoint would be a token factory anywhere else.
import fs from 'node:fs';
import https from 'node:https';
import crypto from 'node:crypto';
import * as jose from 'jose';

const opts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const good = await jose.generateKeyPair('RS256', { extractable: true });
const rogue = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(good.publicKey)), kid: 'gh-1', alg: 'RS256', use: 'sig' };
let issuer = '';

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function mint(spec) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    jti: crypto.randomUUID(),
    sub: 'repo:octo/app:environment:prod',
    aud: 'api://AzureADTokenExchange',
    ref: 'refs/heads/main',
    repository: 'octo/app',
    repository_owner: 'octo',
    environment: 'prod',
    event_name: 'push',
    runner_environment: 'github-hosted',
    iss: issuer,
    nbf: now - 600,
    iat: now,
    exp: now + 300,
    ...(spec.claims || {}),
  };
  for (const name of spec.omit || []) delete claims[name];
  const key = spec.rogue ? rogue.privateKey : good.privateKey;
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: spec.kid || 'gh-1', x5t: 'fake-thumbprint' })
    .sign(key);
}

const server = https.createServer({
  cert: fs.readFileSync(opts.cert),
  key: fs.readFileSync(opts.key),
}, (req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
    send(res, 200, 'application/json', JSON.stringify({
      issuer: opts.discovery_issuer || issuer,
      jwks_uri: `${issuer}/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    }));
    return;
  }
  if (req.method === 'GET' && path === '/.well-known/jwks') {
    send(res, 200, 'application/json', JSON.stringify({ keys: [jwk] }));
    return;
  }
  if (req.method === 'POST' && path === '/mint') {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', async () => {
      try {
        send(res, 200, 'application/jwt', await mint(body ? JSON.parse(body) : {}));
      } catch (e) {
        send(res, 400, 'text/plain', e.message);
      }
    });
    return;
  }
  send(res, 404, 'text/plain', 'not found');
});

server.listen(opts.port || 0, '127.0.0.1', () => {
  issuer = `https://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
