import type { Health } from "../api/health";
import { caLevel, caLifetime, humanDuration } from "../health/durations";

type Level = "ok" | "warn" | "bad";

interface Tile {
  label: string;
  value: string;
  level: Level;
}

/** One tile per component: what an operator checks first in an incident. Pure. */
export function healthTiles(h: Health): Tile[] {
  const tiles: Tile[] = [];
  const store = h.server.store;
  tiles.push({ label: "Control plane", value: store ? (store.ok ? `store ok, ${store.audit_events ?? 0} audit events` : "store failing") : "up", level: store && !store.ok ? "bad" : "ok" });
  const stale = h.sidecars.filter((s) => s.stale || s.config?.stale).length;
  const reporting = h.sidecars.length;
  tiles.push({
    label: "Sidecars",
    value: `${reporting} reporting${stale ? `, ${stale} stale` : ""}${h.agents_without_sidecar.length ? `, ${h.agents_without_sidecar.length} silent` : ""}`,
    level: stale ? "bad" : h.agents_without_sidecar.length ? "warn" : "ok",
  });
  const ca = h.server.ca;
  if (ca) {
    tiles.push({ label: "Identity CA", value: `expires in ${humanDuration(ca.seconds_left)}`, level: caLevel(ca.seconds_left, caLifetime(ca)) });
  }
  if (h.server.token_service) {
    const keys = h.server.token_service.keys;
    tiles.push({ label: "Token service", value: `${keys.length} signing key${keys.length === 1 ? "" : "s"}`, level: keys.some((k) => k.state === "active") ? "ok" : "bad" });
  }
  for (const b of h.server.bundles ?? []) tiles.push({ label: `Bundle ${b.trust_domain}`, value: b.stale ? "stale" : "fresh", level: b.stale ? "bad" : "ok" });
  for (const p of h.server.identity_providers ?? []) tiles.push({ label: `IdP ${p.issuer}`, value: p.ready ? "keys loaded" : "no keys", level: p.ready ? "ok" : "bad" });
  return tiles;
}

export function HealthStrip({ health }: { health: Health }) {
  return (
    <div class="tiles" data-testid="health-tiles">
      {healthTiles(health).map((t) => (
        <a key={t.label} class={`tile tile-${t.level}`} href="/system-health">
          <div class="tile-label">{t.label}</div>
          <div class="tile-value">{t.value}</div>
        </a>
      ))}
    </div>
  );
}
