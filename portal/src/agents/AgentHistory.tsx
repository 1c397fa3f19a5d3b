import type { AgentRevision } from "../api/agents";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import type { Loaded } from "../ui/useLoad";

export function AgentHistory({ loaded }: { loaded: Loaded<AgentRevision[]> }) {
  return (
    <section>
      <h2>History</h2>
      <ErrorBox error={loaded.error} />
      {loaded.data && (
        <table class="grid">
          <thead>
            <tr>
              <th>Revision</th>
              <th>Time</th>
              <th>Who</th>
              <th>Action</th>
              <th>Comment</th>
              <th>State / risk after</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.map((h) => (
              <tr key={h.revision}>
                <td>{h.revision}</td>
                <td class="nowrap">{formatUnix(h.time)}</td>
                <td>
                  {h.actor.subject} <span class="muted">({h.actor.method})</span>
                </td>
                <td>{h.action}</td>
                <td>{h.comment}</td>
                <td>{h.agent ? `${h.agent.state ?? ""} / ${h.agent.risk ?? ""}` : "deleted"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
