// A real OpenID Provider (npm oidc-provider 9.13.x, panva) for the portal's sign-in through
// an external provider (docs/control-plane.md "Portal sign-in"): `warden server` is the
// relying party, with the authorization code flow, PKCE S256, a nonce and
// client_secret_basic; the C++ test (tests/integration/portal_upstream_login_test.cc)
// plays the browser.
//
// Usage:
//   node oidc_provider_login.mjs <redirect_uri>
// <redirect_uri> is Warden's callback, https://127.0.0.1:<port>/oauth2/callback/<name>,
// registered exactly for the one client.
//
// One plain-http listener on 127.0.0.1, ephemeral port, announced on stdout as one line:
//   READY {"issuer":"http://127.0.0.1:<port>","port":<port>}
//
// Client (confidential): warden / warden-secret, client_secret_basic, authorization_code,
// ID tokens signed ES256 (the JWKS holds an EC P-256 and an RSA key).
// Accounts (the ID token carries preferred_username and, with scope groups, `groups`;
// conformIdTokenClaims is off so that they are in the ID token itself):
//   alice  groups ["warden-admins", "staff"]
//   bob    groups ["staff"]               (no group Warden maps to a role)
//
// Interactions without a browser: the provider sends the browser to
// /interaction/<uid>; a GET of that URL with ?account=<id> signs that account in and
// grants the client every scope it asked for (the Grant API), then resumes the
// authorization (303 to /auth/<uid>). Cookies tie the steps together as in a browser.
// Any other account, or no account on a login prompt, is 400. There is no password: this
// provider exists for tests only and listens on loopback.
// SIGTERM/SIGINT stop it, and so does the test process going away.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.argv[2];
if (!redirectUri) {
  process.stderr.write('usage: node oidc_provider_login.mjs <redirect_uri>\n');
  process.exit(2);
}

const ACCOUNTS = {
  alice: { name: 'Alice Admin', groups: ['warden-admins', 'staff'] },
  bob: { name: 'Bob Nobody', groups: ['staff'] },
};

function privateJwk(type, options, kid) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

let handler = (req, res) => {
  res.writeHead(503);
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    jwks: {
      keys: [
        privateJwk('ec', { namedCurve: 'P-256' }, 'ec-p256-1'),
        privateJwk('rsa', { modulusLength: 2048 }, 'rsa-2048-1'),
      ],
    },
    clients: [
      {
        client_id: 'warden',
        client_secret: 'warden-secret',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      const account = ACCOUNTS[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, name: account.name, groups: account.groups };
        },
      };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: { devInteractions: { enabled: false } },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  provider.on('grant.error', (ctx, err) =>
    process.stderr.write(`grant.error: ${err.message} ${err.error_description ?? ''}\n`));

  // GET /interaction/<uid>?account=<id>: login (when prompted) and consent in one step.
  async function interaction(req, res, url) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    const result = {};
    let accountId = session?.accountId;
    if (prompt.name === 'login') {
      accountId = url.searchParams.get('account');
      if (!ACCOUNTS[accountId]) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('unknown account\n');
        return;
      }
      result.login = { accountId };
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    grant.addOIDCScope(params.scope);
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    result.consent = { grantId: await grant.save() };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  const callback = provider.callback();
  handler = (req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(url.pathname)) {
      interaction(req, res, url).catch((err) => {
        process.stderr.write(`interaction: ${err.stack}\n`);
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`${err.message}\n`);
      });
      return;
    }
    callback(req, res);
  };
  process.stdout.write(`READY ${JSON.stringify({ issuer, port })}\n`);
});

// A test that crashes never sends SIGTERM: leave with the parent instead of lingering.
const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(0);
  }
}, 1000).unref();

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
