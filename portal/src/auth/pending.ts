import { randomToken } from "./base64url";

// What must survive the round trip through the server's login page: a full-page
// navigation loses memory, so it lives in sessionStorage (per tab, gone with the tab).
export interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
  createdMs: number;
}

const KEY = "warden.pendingSignIn";
// A login page left open longer than this is treated as abandoned: its state is refused.
const MAX_AGE_MS = 10 * 60 * 1000;

export function beginPending(storage: Storage, verifier: string, returnTo: string, nowMs: number): PendingSignIn {
  const pending: PendingSignIn = { state: randomToken(16), verifier, returnTo: safeReturnPath(returnTo), createdMs: nowMs };
  storage.setItem(KEY, JSON.stringify(pending));
  return pending;
}

export type TakeResult = { ok: true; pending: PendingSignIn } | { ok: false; reason: string };

// One use only: the record is removed whatever the outcome, so a replayed callback URL fails.
export function takePending(storage: Storage, state: string | null, nowMs: number): TakeResult {
  const raw = storage.getItem(KEY);
  storage.removeItem(KEY);
  if (!raw) return { ok: false, reason: "no sign-in was started in this tab" };
  let pending: PendingSignIn;
  try {
    pending = JSON.parse(raw) as PendingSignIn;
  } catch {
    return { ok: false, reason: "the stored sign-in attempt is unreadable" };
  }
  if (!state || state !== pending.state) return { ok: false, reason: "the state returned by the server does not match" };
  if (nowMs - pending.createdMs > MAX_AGE_MS) return { ok: false, reason: "the sign-in attempt is too old" };
  return { ok: true, pending };
}

// Only same-origin paths: an attacker-supplied "//evil.example" must not become a redirect.
export function safeReturnPath(path: string): string {
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  if (path.startsWith("/callback")) return "/";
  return path;
}
