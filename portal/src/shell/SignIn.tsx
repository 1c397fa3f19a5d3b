import { useState } from "preact/hooks";
import { startSignIn } from "../auth/oidc";

export function SignIn({ error }: { error?: string | undefined }) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const go = () => {
    setBusy(true);
    startSignIn(location.pathname + location.search).catch((e: unknown) => {
      setBusy(false);
      setFailure(e instanceof Error ? e.message : String(e));
    });
  };
  return (
    <div class="signin">
      <h1>Warden</h1>
      {(failure ?? error) && (
        <p class="error" role="alert">
          {failure ?? error}
        </p>
      )}
      <button type="button" class="primary" disabled={busy} onClick={go}>
        Sign in
      </button>
    </div>
  );
}
