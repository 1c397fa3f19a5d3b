import { clearSession, user } from "../auth/session";
import { endSessionUrl } from "../auth/oidc";

async function signOut() {
  const next = await endSessionUrl();
  clearSession();
  location.assign(next ?? "/");
}

export function TopBar() {
  const u = user.value;
  return (
    <header class="topbar">
      <span class="brand">Warden</span>
      {u && (
        <span class="who">
          <span class="subject" title={`signed in by ${u.method}`} data-testid="session-subject">
            {u.subject}
          </span>
          <span class={`role role-${u.role}`} data-testid="session-role">
            {u.role}
          </span>
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      )}
    </header>
  );
}
