import { useEffect, useState } from "preact/hooks";
import { startSignIn } from "../auth/oidc";
import { expired, tokens } from "../auth/session";

// Early enough to finish a form before the token lapses.
const WARN_BEFORE_MS = 5 * 60 * 1000;

function signInAgain() {
  void startSignIn(location.pathname + location.search);
}

export function SessionBanner() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  const t = tokens.value;
  if (expired.value || (t && t.expiresAtMs <= now)) {
    return (
      <div class="banner banner-error" role="alert">
        Your session expired. <button type="button" onClick={signInAgain}>Sign in again</button> to continue on this page.
      </div>
    );
  }
  if (t && t.expiresAtMs - now < WARN_BEFORE_MS) {
    const minutes = Math.max(1, Math.round((t.expiresAtMs - now) / 60_000));
    return (
      <div class="banner banner-warn" role="status">
        Your session ends in about {minutes} min. <button type="button" onClick={signInAgain}>Sign in again</button>
      </div>
    );
  }
  return null;
}
