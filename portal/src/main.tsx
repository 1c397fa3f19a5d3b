import { render } from "preact";
import { whoami } from "./api/whoami";
import { completeSignIn } from "./auth/oidc";
import { loadStoredTokens, user } from "./auth/session";
import { App } from "./shell/App";
import { navigate, startRouter } from "./shell/router";
import { SignIn } from "./shell/SignIn";

const root = document.getElementById("app")!;

async function boot(): Promise<void> {
  startRouter();
  if (location.pathname === "/callback") {
    const returnTo = await completeSignIn();
    navigate(returnTo, true);
  } else if (!loadStoredTokens(Date.now())) {
    render(<SignIn />, root);
    return;
  }
  user.value = await whoami();
  render(<App />, root);
}

boot().catch((e: unknown) => {
  render(<SignIn error={e instanceof Error ? e.message : String(e)} />, root);
});
