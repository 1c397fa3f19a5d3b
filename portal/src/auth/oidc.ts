import { beginPending, takePending } from "./pending";
import { newVerifier, s256Challenge } from "./pkce";
import { setTokens, type Tokens } from "./session";

export const CLIENT_ID = "warden-portal";

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

let discovery: Promise<Discovery> | null = null;

function discover(): Promise<Discovery> {
  discovery ??= fetch("/.well-known/openid-configuration", { headers: { Accept: "application/json" } }).then(async (r) => {
    if (!r.ok) throw new Error(`OpenID discovery failed: HTTP ${r.status}`);
    return (await r.json()) as Discovery;
  });
  discovery.catch(() => (discovery = null));
  return discovery;
}

export function redirectUri(): string {
  return `${location.origin}/callback`;
}

/** Leaves the page for the server's login; comes back to `returnTo` after /callback. */
export async function startSignIn(returnTo: string): Promise<void> {
  const d = await discover();
  const verifier = newVerifier();
  const pending = beginPending(sessionStorage, verifier, returnTo, Date.now());
  const url = new URL(d.authorization_endpoint, location.origin);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    state: pending.state,
    code_challenge: await s256Challenge(verifier),
    code_challenge_method: "S256",
    scope: "openid",
  }).toString();
  location.assign(url.toString());
}

/**
 * Finishes the flow on /callback. The code and state leave the address bar first, so
 * neither a reload nor the history can replay them. Returns the path to go back to.
 */
export async function completeSignIn(): Promise<string> {
  const params = new URLSearchParams(location.search);
  history.replaceState(null, "", "/");
  const taken = takePending(sessionStorage, params.get("state"), Date.now());
  const error = params.get("error");
  if (error) throw new Error(`sign-in refused: ${params.get("error_description") ?? error}`);
  if (!taken.ok) throw new Error(`sign-in refused: ${taken.reason}`);
  const code = params.get("code");
  if (!code) throw new Error("sign-in refused: the server returned no code");

  const d = await discover();
  const r = await fetch(d.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(),
      client_id: CLIENT_ID,
      code_verifier: taken.pending.verifier,
    }),
  });
  const body = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  if (!r.ok || typeof body.access_token !== "string") {
    const why = body.error_description ?? body.reason ?? body.error ?? `HTTP ${r.status}`;
    throw new Error(`sign-in failed: ${String(why)}`);
  }
  const t: Tokens = {
    accessToken: body.access_token,
    expiresAtMs: Date.now() + (typeof body.expires_in === "number" ? body.expires_in : 3600) * 1000,
  };
  setTokens(t);
  return taken.pending.returnTo;
}

/** Ends the server's login session too when it offers an end-session endpoint. */
export async function endSessionUrl(): Promise<string | null> {
  try {
    const d = await discover();
    if (!d.end_session_endpoint) return null;
    const url = new URL(d.end_session_endpoint, location.origin);
    url.search = new URLSearchParams({ client_id: CLIENT_ID, post_logout_redirect_uri: `${location.origin}/` }).toString();
    return url.toString();
  } catch {
    return null;
  }
}
