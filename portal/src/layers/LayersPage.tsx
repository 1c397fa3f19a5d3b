import "../ui/dashboards.css";
import { parse } from "yaml";
import { useState } from "preact/hooks";

import { listDocumentsWithContent } from "../api/documents";
import { getHealth } from "../api/health";
import { getAuditStats } from "../api/stats";
import { ErrorBox } from "../ui/ErrorBox";
import { plural } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { usePoll } from "../ui/usePoll";
import { layerConfig, type TargetConfig } from "./layerConfig";
import { layerTitles, pipelineCounts } from "./pipeline";

const RANGES = [
  { label: "15 minutes", seconds: 900 },
  { label: "1 hour", seconds: 3600 },
  { label: "24 hours", seconds: 86_400 },
];

async function loadTargets(): Promise<TargetConfig[]> {
  const [policies, governance] = await Promise.all([listDocumentsWithContent("policy"), listDocumentsWithContent("governance")]);
  const blocks = new Map(governance.map((g) => [g.target, parse(g.content) as unknown]));
  return policies.map((p) => layerConfig(p.target, p.version, parse(p.content) as unknown, blocks.get(p.target) ?? null));
}

function Counter({ n, kind }: { n: number; kind: "allow" | "deny" }) {
  return <span class={`count count-${kind}`}>{n}</span>;
}

/** The pipeline with live counters per layer, and each layer's configuration per target. */
export function LayersPage() {
  const [range, setRange] = useState(0);
  const r = RANGES[range]!;
  const stats = useLoad(() => getAuditStats({ since: Math.floor(Date.now() / 1000) - r.seconds, bucket: r.seconds }), [range]);
  const health = useLoad(getHealth, []);
  const targets = useLoad(loadTargets, []);
  usePoll(stats.reload, 3000);
  usePoll(health.reload, 15_000);
  const counts = stats.data ? pipelineCounts(stats.data) : null;
  const jwks = new Map<string, { ready: number; total: number; error?: string }>();
  for (const s of health.data?.sidecars ?? []) {
    for (const j of s.jwks ?? []) {
      const e = jwks.get(j.issuer) ?? { ready: 0, total: 0 };
      e.total += 1;
      if (j.ready ?? (j.keys ?? 0) > 0) e.ready += 1;
      if (j.last_error) e.error = j.last_error;
      jwks.set(j.issuer, e);
    }
  }

  return (
    <section class="page">
      <h1>Enforcement layers</h1>
      <p class="muted">
        Every call passes the layers in this order; the first that denies decides. The counters are the audit trail's,
        across every sidecar.
      </p>
      <div class="toolbar">
        <label>
          Counted over the last{" "}
          <select value={String(range)} onChange={(e) => setRange(Number(e.currentTarget.value))}>
            {RANGES.map((x, i) => (
              <option key={x.label} value={String(i)}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={stats.error} />
      {counts && (
        <ol class="pipeline" data-testid="pipeline">
          {counts.other > 0 && (
            <li class="stage">
              <div class="stage-title">Before the pipeline</div>
              <div>
                <Counter n={counts.other} kind="deny" /> refused (malformed requests, upstream failures)
              </div>
            </li>
          )}
          {counts.layers.map((l) => (
            <li key={l.layer} class="stage" data-testid={`stage-${l.layer}`}>
              <div class="stage-title">{layerTitles[l.layer] ?? l.layer}</div>
              <div>
                <Counter n={l.passed} kind="allow" /> passed · <Counter n={l.denied} kind="deny" /> denied
              </div>
              <div class="muted">of {l.reached} evaluated</div>
            </li>
          ))}
          <li class="stage stage-app">
            <div class="stage-title">The app</div>
            <div>
              <Counter n={stats.data!.totals.allow} kind="allow" /> forwarded
            </div>
          </li>
        </ol>
      )}

      <h2>Configuration per target</h2>
      <ErrorBox error={targets.error ?? health.error} />
      {targets.data && (
        <table class="grid" data-testid="layer-config">
          <thead>
            <tr>
              <th>Target</th>
              <th>1 Allow-list</th>
              <th>2 Rules</th>
              <th>3 Issuers (JWKS across sidecars)</th>
              <th>4a Max risk</th>
              <th>4b Required tags</th>
            </tr>
          </thead>
          <tbody>
            {targets.data.map((t) => (
              <tr key={t.target}>
                <td>
                  <a href={`/policy-editor?target=${encodeURIComponent(t.target)}`}>{t.target}</a>
                  <div class="muted">v{t.version}</div>
                </td>
                <td>
                  {plural(t.allowEntries, "entry", "entries")}
                  {t.broadEntries > 0 && <span class="pill badge-broad">{t.broadEntries} broad</span>}
                </td>
                <td>
                  {plural(t.callers, "caller")}, {plural(t.rules, "rule")}
                </td>
                <td>
                  {t.issuers.length === 0 && <span class="muted">no token required</span>}
                  {t.issuers.map((i) => {
                    const s = jwks.get(i.issuer);
                    return (
                      <div key={i.issuer} class="mono">
                        {i.issuer} <span class="muted">({i.algorithms.join(", ")}; aud {i.audiences.join(", ")})</span>{" "}
                        {s && (
                          <span class={s.ready === s.total ? "status-ok" : "status-bad"} title={s.error ?? ""}>
                            keys on {s.ready}/{s.total} sidecars
                          </span>
                        )}
                      </div>
                    );
                  })}
                </td>
                <td>{t.governed ? t.maxRisk : <span class="status-bad">not governed</span>}</td>
                <td class="mono">{t.governed ? t.requiredTags || "—" : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
