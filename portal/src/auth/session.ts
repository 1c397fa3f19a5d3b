import { computed, signal } from "@preact/signals";
import type { Role } from "./roles";

export interface WhoAmI {
  subject: string;
  method: string;
  role: Role;
}

export interface Tokens {
  accessToken: string;
  expiresAtMs: number;
}

// sessionStorage (not localStorage) so a reload keeps the session but it dies with the tab
// and is never shared with other tabs or left on disk after the browser closes.
const KEY = "warden.session";

export const tokens = signal<Tokens | null>(null);
export const user = signal<WhoAmI | null>(null);
/** Set when the API answered 401: the token was refused, whatever its expiry said. */
export const expired = signal(false);
export const role = computed<Role | null>(() => user.value?.role ?? null);

export function loadStoredTokens(nowMs: number): Tokens | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const t = JSON.parse(raw) as Tokens;
    if (typeof t.accessToken === "string" && typeof t.expiresAtMs === "number" && t.expiresAtMs > nowMs) {
      tokens.value = t;
      return t;
    }
  } catch {
    // unreadable: fall through and forget it
  }
  sessionStorage.removeItem(KEY);
  return null;
}

export function setTokens(t: Tokens): void {
  tokens.value = t;
  expired.value = false;
  sessionStorage.setItem(KEY, JSON.stringify(t));
}

export function markExpired(): void {
  expired.value = true;
}

export function clearSession(): void {
  tokens.value = null;
  user.value = null;
  expired.value = false;
  sessionStorage.removeItem(KEY);
}
