import { useState } from "preact/hooks";
import { listAgents } from "../api/agents";
import { getAuditStats } from "../api/stats";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix, rolesText, tagsText } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { filterAgents } from "./filter";
import { lastSeen } from "./lastSeen";

const LAST_SEEN_WINDOW = 86_400;

// Traffic in the last day, for "Last seen"; the list itself does not wait for it.
const loadLastSeen = async () =>
  lastSeen((await getAuditStats({ since: Math.floor(Date.now() / 1000) - LAST_SEEN_WINDOW, bucket: 3600 })).edges);

export function AgentsPage() {
  const agents = useLoad(listAgents, []);
  const seen = useLoad(loadLastSeen, []);
  const [filter, setFilter] = useState("");
  const rows = filterAgents(agents.data ?? [], filter);
  return (
    <section class="page">
      <h1>Agents</h1>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter by name, SPIFFE ID, state, risk, tag, role"
          aria-label="Filter agents"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <button type="button" onClick={agents.reload}>
          Refresh
        </button>
        {agents.data && (
          <span class="muted">
            {rows.length} of {agents.data.length}
          </span>
        )}
      </div>
      <ErrorBox error={agents.error} />
      {agents.loading && !agents.data && <p class="muted">Loading…</p>}
      {agents.data && (
        <table class="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>SPIFFE ID</th>
              <th>State</th>
              <th>Risk</th>
              <th>Tags</th>
              <th>Roles per audience</th>
              <th>Updated</th>
              <th title="The latest call to or from it in the last 24 hours">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.name}>
                <td>
                  <a href={`/agents/${encodeURIComponent(a.name)}`}>{a.name}</a>
                </td>
                <td class="mono">{a.spiffe_id}</td>
                <td>
                  <span class={`pill state-${a.state ?? "unknown"}`}>{a.state}</span>
                </td>
                <td>
                  <span class={`pill risk-${a.risk ?? "unknown"}`}>{a.risk}</span>
                </td>
                <td>{tagsText(a.tags)}</td>
                <td>{rolesText(a.roles)}</td>
                <td class="nowrap">{formatUnix(a.updated)}</td>
                <td class="nowrap">{(a.spiffe_id && formatUnix(seen.data?.get(a.spiffe_id))) || <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {agents.data && rows.length === 0 && <p class="muted">No agent matches.</p>}
    </section>
  );
}
