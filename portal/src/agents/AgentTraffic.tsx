import { auditEvents, type AuditRow } from "../api/agents";
import { ErrorBox } from "../ui/ErrorBox";
import { useLoad } from "../ui/useLoad";

// The audit API pages forward from `from`, so "recent" is a time window, newest shown first.
const WINDOW_S = 60 * 60;
const SHOWN = 50;

async function recent(spiffeId: string): Promise<AuditRow[]> {
  const from = Math.floor(Date.now() / 1000) - WINDOW_S;
  const [asCaller, asTarget] = await Promise.all([
    auditEvents({ caller: spiffeId, from, limit: 1000 }),
    auditEvents({ target: spiffeId, from, limit: 1000 }),
  ]);
  const byId = new Map<number, AuditRow>();
  for (const r of [...asCaller, ...asTarget]) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => b.id - a.id).slice(0, SHOWN);
}

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

export function AgentTraffic({ spiffeId }: { spiffeId: string }) {
  const rows = useLoad(() => (spiffeId ? recent(spiffeId) : Promise.resolve([])), [spiffeId]);
  return (
    <section>
      <h2>Recent traffic (last hour)</h2>
      <p>
        <a href={`/logs?caller=${encodeURIComponent(spiffeId)}`}>Live log of its calls</a>
      </p>
      <ErrorBox error={rows.error} />
      {rows.data && rows.data.length === 0 && <p class="muted">No calls from or to this agent in the last hour.</p>}
      {rows.data && rows.data.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>Time</th>
              <th>Caller</th>
              <th>Target</th>
              <th>Request</th>
              <th>Decision</th>
              <th>Layer / reason</th>
            </tr>
          </thead>
          <tbody>
            {rows.data.map(({ id, event: e }) => (
              <tr key={id}>
                <td class="nowrap">{str(e.time)}</td>
                <td class="mono">{str(e.caller)}</td>
                <td class="mono">{str(e.target)}</td>
                <td class="mono">
                  {str(e.method)} {str(e.path)}
                </td>
                <td>
                  <span class={`pill decision-${str(e.decision)}`}>{str(e.decision)}</span> {str(e.status)}
                </td>
                <td>
                  {str(e.layer)} / {str(e.reason)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
