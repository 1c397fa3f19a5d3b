import "../ui/dashboards.css";
import { useMemo, useState } from "preact/hooks";

import { listAgents } from "../api/agents";
import { listDocumentsWithContent } from "../api/documents";
import { getHealth } from "../api/health";
import { getAuditStats } from "../api/stats";
import { navigate } from "../shell/router";
import { ErrorBox } from "../ui/ErrorBox";
import { useLoad } from "../ui/useLoad";
import { usePoll } from "../ui/usePoll";
import { ConnectionGraph } from "./ConnectionGraph";
import { DenialChart } from "./DenialChart";
import { buildGraph } from "./graph";
import { HealthStrip } from "./HealthStrip";
import { scan } from "./scan";
import { SecurityScan } from "./SecurityScan";

const WINDOWS = [
  { label: "15 minutes", seconds: 900, bucket: 30 },
  { label: "1 hour", seconds: 3600, bucket: 60 },
  { label: "24 hours", seconds: 86_400, bucket: 1800 },
];
const SCAN_WINDOW_HOURS = 24;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Documents and registry for the scan: they change rarely, so they load once (and after a fix). */
async function loadScanInputs() {
  const [agents, policies, governance, day] = await Promise.all([
    listAgents(),
    listDocumentsWithContent("policy"),
    listDocumentsWithContent("governance"),
    getAuditStats({ since: nowSeconds() - SCAN_WINDOW_HOURS * 3600, bucket: 3600 }),
  ]);
  return { agents, policies, governance, edges: day.edges };
}

export function OverviewPage() {
  const [windowIndex, setWindowIndex] = useState(0);
  const w = WINDOWS[windowIndex]!;
  const stats = useLoad(() => getAuditStats({ since: nowSeconds() - w.seconds, bucket: w.bucket }), [windowIndex]);
  const health = useLoad(getHealth, []);
  const inputs = useLoad(loadScanInputs, []);
  usePoll(stats.reload, 5000);
  usePoll(health.reload, 10_000);

  const graph = useMemo(() => buildGraph(inputs.data?.agents ?? [], stats.data?.edges ?? []), [inputs.data, stats.data]);
  const findings = useMemo(
    () =>
      inputs.data
        ? scan({ now: nowSeconds(), ...inputs.data, edgeWindowHours: SCAN_WINDOW_HOURS, health: health.data })
        : [],
    [inputs.data, health.data],
  );

  return (
    <section class="page">
      <h1>Overview</h1>
      <h2>Health</h2>
      <ErrorBox error={health.error} />
      {health.data ? <HealthStrip health={health.data} /> : !health.error && <p class="muted">Loading…</p>}

      <div class="toolbar">
        <label>
          Traffic in the last{" "}
          <select value={String(windowIndex)} onChange={(e) => setWindowIndex(Number(e.currentTarget.value))}>
            {WINDOWS.map((x, i) => (
              <option key={x.label} value={String(i)}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        {stats.data && (
          <span class="muted" data-testid="traffic-totals">
            {stats.data.totals.allow} allowed, {stats.data.totals.deny} denied
          </span>
        )}
      </div>
      <ErrorBox error={stats.error ?? inputs.error} />
      <div class="overview-grid">
        <section>
          <h2>Who talks to whom</h2>
          <ConnectionGraph nodes={graph.nodes} edges={graph.edges} onSelect={(name) => navigate(`/agents/${encodeURIComponent(name)}`)} />
        </section>
        <section>
          <h2>Denials by layer</h2>
          {stats.data ? <DenialChart stats={stats.data} /> : <p class="muted">Loading…</p>}
        </section>
      </div>

      <h2>Security scan</h2>
      <p class="muted">
        Default-allow rules, over-broad allow-list entries, targets without governance, stale risk data, expiring
        credentials. {inputs.data && `${inputs.data.policies.length} policies and ${inputs.data.governance.length} governance blocks checked.`} A fix is a new,
        validated version with your comment; roll it back from the Policy editor.
      </p>
      {inputs.data ? <SecurityScan findings={findings} onApplied={inputs.reload} /> : !inputs.error && <p class="muted">Loading…</p>}
    </section>
  );
}
