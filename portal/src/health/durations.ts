/** "3d 4h", "2h 5m", "45s": a duration an operator reads at a glance. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export type Level = "ok" | "warn" | "bad";

/**
 * An X.509-SVID's state from its remaining life: a healthy sidecar rotates at half-life, so
 * one with little time left has a failing Workload API. Thresholds are absolute because
 * the report does not carry not_before.
 */
export function svidLevel(secondsLeft: number): Level {
  if (secondsLeft <= 300) return "bad";
  if (secondsLeft <= 900) return "warn";
  return "ok";
}

const DAY = 86_400;

/**
 * An X.509 CA's state from the time it has left and, when known, its lifetime. A CA that
 * rotates itself (SPIRE-style ca_ttl, 24 h by default) prepares its successor at half its
 * life, so one with under a third left is late and under a sixth is stuck; a long-lived
 * CA is judged by days (30 and 7). The nearer of the two thresholds applies.
 */
export function caLevel(secondsLeft: number, lifetimeSeconds?: number): Level {
  const life = lifetimeSeconds && lifetimeSeconds > 0 ? lifetimeSeconds : Infinity;
  if (secondsLeft < Math.min(7 * DAY, life / 6)) return "bad";
  if (secondsLeft < Math.min(30 * DAY, life / 3)) return "warn";
  return "ok";
}

export const caLifetime = (ca: { not_before?: number; not_after: number }): number | undefined =>
  ca.not_before !== undefined ? ca.not_after - ca.not_before : undefined;
