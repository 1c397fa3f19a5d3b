// A real OpenID Provider (npm oidc-provider 9.13.x, panva) for Warden's layer 3 interop
// test, identity-standards §10.5 O1. It issues RFC 9068 JWT access tokens (typ at+jwt) by
// the client_credentials grant with RFC 8707 resource indicators; Warden's sidecar fetches
// its discovery document and JWKS and verifies them.
//
// Usage:
//   node oidc_provider_issuer.mjs
//
// One plain-http listener on 127.0.0.1, ephemeral port, announced on stdout as one line:
//   READY {"issuer":"http://127.0.0.1:<port>","port":<port>}
// oidc-provider 9 is mounted with provider.callback() on node's own http server (not
// provider.listen), per the identity-standards §10 notes. It warns about Node 22 on Node 20
// and works.
//
// Clients (client_credentials only, client_secret_basic):
//   budget-report   / budget-report-secret    roles ["Budget.Read"]                   ES256
//   budget-approval / budget-approval-secret  roles ["Budget.Read","Budget.Submit"]   RS256
// Resources (the token's aud): api://budget-backend and api://other-backend. The signing
// alg is chosen per client through the resource server's jwt.sign.alg; the provider's JWKS
// holds an EC P-256 and an RSA key. Roles go into the token via extraTokenClaims.
//
// Token request (what the C++ test sends):
//   POST /token  Authorization: Basic base64(id:secret)
//   grant_type=client_credentials&resource=api://budget-backend&scope=budget
// SIGTERM/SIGINT stop it.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

const CLIENTS = {
  'budget-report': { secret: 'budget-report-secret', roles: ['Budget.Read'], alg: 'ES256' },
  'budget-approval': {
    secret: 'budget-approval-secret',
    roles: ['Budget.Read', 'Budget.Submit'],
    alg: 'RS256',
  },
};
const RESOURCES = new Set(['api://budget-backend', 'api://other-backend']);

function privateJwk(type, options, kid) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

const jwks = {
  keys: [
    privateJwk('ec', { namedCurve: 'P-256' }, 'ec-p256-1'),
    privateJwk('rsa', { modulusLength: 2048 }, 'rsa-2048-1'),
  ],
};

// The issuer URL needs the port, so bind first and mount the provider afterwards.
let handler = (req, res) => {
  res.writeHead(503);
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    jwks,
    clients: Object.entries(CLIENTS).map(([id, c]) => ({
      client_id: id,
      client_secret: c.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'budget',
    })),
    scopes: ['budget'],
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    enabledJWA: { authorizationSigningAlgValues: ['ES256', 'RS256'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resourceIndicator, client) {
          if (!RESOURCES.has(resourceIndicator)) throw new errors.InvalidTarget();
          return {
            scope: 'budget',
            audience: resourceIndicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: CLIENTS[client.clientId]?.alg ?? 'ES256' } },
          };
        },
      },
    },
    extraTokenClaims(ctx, token) {
      const roles = CLIENTS[token.clientId]?.roles;
      return roles ? { roles } : undefined;
    },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  provider.on('grant.error', (ctx, err) => process.stderr.write(`grant.error: ${err.message} ${err.error_description ?? ''}\n`));

  handler = provider.callback();
  process.stdout.write(`READY ${JSON.stringify({ issuer, port })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
