import "../ui/dashboards.css";
import { Fragment, type ComponentChildren } from "preact";

import type { Health, SidecarReport } from "../api/health";
import { getHealth } from "../api/health";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { usePoll } from "../ui/usePoll";
import { caLevel, caLifetime, humanDuration, svidLevel, type Level } from "./durations";

function Status({ level, children }: { level: Level; children: ComponentChildren }) {
  return <span class={`status-${level === "ok" ? "ok" : level === "warn" ? "warn" : "bad"}`}>{children}</span>;
}

function ServerSection({ h }: { h: Health }) {
  const s = h.server;
  return (
    <dl class="fields" data-testid="server-health">
      {s.version && (
        <>
          <dt>Version</dt>
          <dd>{s.version}</dd>
        </>
      )}
      {s.started_at && (
        <>
          <dt>Up since</dt>
          <dd>{formatUnix(s.started_at)}</dd>
        </>
      )}
      {s.trust_domain && (
        <>
          <dt>Trust domain</dt>
          <dd class="mono">{s.trust_domain}</dd>
        </>
      )}
      {s.store && (
        <>
          <dt>Store</dt>
          <dd>
            <Status level={s.store.ok ? "ok" : "bad"}>{s.store.ok ? "ok" : "failing"}</Status> {s.store.path} · schema v{s.store.schema_version} ·{" "}
            {s.store.size_bytes !== undefined && `${(s.store.size_bytes / 1e6).toFixed(1)} MB · `}
            {s.store.audit_events ?? 0} audit events
          </dd>
        </>
      )}
      {s.ca && (
        <>
          <dt>Identity CA</dt>
          <dd>
            <Status level={caLevel(s.ca.seconds_left, caLifetime(s.ca))}>
              expires {formatUnix(s.ca.not_after)} (in {humanDuration(s.ca.seconds_left)})
            </Status>
          </dd>
        </>
      )}
      {(s.bundles ?? []).map((b) => (
        <Fragment key={`b-${b.trust_domain}`}>
          <dt>Bundle {b.trust_domain}</dt>
          <dd>
            <Status level={b.stale ? "bad" : "ok"}>{b.stale ? "stale" : "fresh"}</Status> {b.source ?? ""}
            {b.refreshed_at ? `, refreshed ${formatUnix(b.refreshed_at)}` : ""}
          </dd>
        </Fragment>
      ))}
      {s.token_service && (
        <>
          <dt>Token service</dt>
          <dd>
            <span class="mono">{s.token_service.issuer}</span>
            {s.token_service.keys.map((k) => (
              <div key={k.kid} class="mono">
                {k.kid}: {k.state}
                {k.not_after ? `, until ${formatUnix(k.not_after)}` : ""}
              </div>
            ))}
          </dd>
        </>
      )}
      {(s.identity_providers ?? []).map((p) => (
        <Fragment key={`idp-${p.issuer}`}>
          <dt>Sign-in IdP</dt>
          <dd>
            <span class="mono">{p.issuer}</span> <Status level={p.ready ? "ok" : "bad"}>{p.ready ? "keys loaded" : "no keys"}</Status>
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

function SidecarRow({ s, now }: { s: SidecarReport; now: number }) {
  const svidLeft = s.svid?.not_after ? s.svid.not_after - now : null;
  const jwksBad = (s.jwks ?? []).filter((j) => !(j.ready ?? (j.keys ?? 0) > 0));
  const bundlesStale = (s.bundles ?? []).filter((b) => b.stale);
  return (
    <tr data-testid="sidecar-row">
      <td>
        {s.agent ? <a href={`/agents/${encodeURIComponent(s.agent)}`}>{s.agent}</a> : <span class="mono">{s.spiffe_id}</span>}
        {s.version && <div class="muted">{s.version}</div>}
      </td>
      <td>
        <Status level={s.stale ? "bad" : "ok"}>{humanDuration(s.report_age_seconds)} ago</Status>
      </td>
      <td data-testid="svid-expiry">
        {svidLeft === null ? <span class="muted">—</span> : <Status level={svidLevel(svidLeft)}>{svidLeft > 0 ? `in ${humanDuration(svidLeft)}` : "expired"}</Status>}
      </td>
      <td>
        {s.config ? (
          <>
            <span class="mono" data-testid="config-version">{s.config.policy_version ?? "—"}</span>
            <div class="muted">
              gen {s.config.generation ?? "?"} · <Status level={s.config.stale ? "bad" : "ok"}>{s.config.stale ? "stale" : "current"}</Status>
              {s.config.age_seconds !== undefined && ` · ${humanDuration(s.config.age_seconds)} old`}
              {s.config.source && ` · ${s.config.source}`}
            </div>
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td>
        {(s.bundles ?? []).length === 0 ? (
          <span class="muted">—</span>
        ) : (
          <Status level={bundlesStale.length ? "bad" : "ok"}>
            {(s.bundles ?? []).map((b) => b.trust_domain).join(", ")}
            {bundlesStale.length > 0 && ` (stale: ${bundlesStale.map((b) => b.trust_domain).join(", ")})`}
          </Status>
        )}
      </td>
      <td>
        {(s.jwks ?? []).length === 0 ? (
          <span class="muted">—</span>
        ) : (
          <Status level={jwksBad.length ? "bad" : "ok"}>
            {(s.jwks ?? []).length - jwksBad.length}/{(s.jwks ?? []).length} issuers with keys
            {jwksBad.map((j) => (
              <div key={j.issuer} class="muted">
                {j.issuer}: {j.last_error ?? "no keys"}
              </div>
            ))}
          </Status>
        )}
      </td>
    </tr>
  );
}

/** SVID expiry, bundle and JWKS freshness, config version and staleness per sidecar; the server's own parts. */
export function SystemHealthPage() {
  const health = useLoad(getHealth, []);
  usePoll(health.reload, 5000);
  const h = health.data;
  const now = h?.generated_at ?? Math.floor(Date.now() / 1000);
  const sidecars = [...(h?.sidecars ?? [])].sort((a, b) => (a.agent || a.spiffe_id).localeCompare(b.agent || b.spiffe_id));
  return (
    <section class="page">
      <h1>System health</h1>
      <ErrorBox error={health.error} />
      {!h && !health.error && <p class="muted">Loading…</p>}
      {h && (
        <>
          <h2>Control plane</h2>
          <ServerSection h={h} />
          <h2>Sidecars</h2>
          <p class="muted">Each governed sidecar reports over its mTLS identity; a report older than three intervals is stale.</p>
          <table class="grid" data-testid="sidecars">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Last report</th>
                <th>X.509-SVID expires</th>
                <th>Config</th>
                <th>Trust bundles</th>
                <th>JWKS</th>
              </tr>
            </thead>
            <tbody>
              {sidecars.map((s) => (
                <SidecarRow key={s.spiffe_id} s={s} now={now} />
              ))}
            </tbody>
          </table>
          {h.agents_without_sidecar.length > 0 && (
            <p class="status-warn" data-testid="silent-agents">
              No report from: {h.agents_without_sidecar.join(", ")}
            </p>
          )}
        </>
      )}
    </section>
  );
}
