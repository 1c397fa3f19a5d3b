import { useState } from "preact/hooks";
import { listAgents } from "../api/agents";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix, rolesText, tagsText } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { filterAgents } from "./filter";

export function AgentsPage() {
  const agents = useLoad(listAgents, []);
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
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {agents.data && rows.length === 0 && <p class="muted">No agent matches.</p>}
    </section>
  );
}
