import { ApiError } from "../api/client";
import { getPolicy } from "../api/agents";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import { useLoad } from "../ui/useLoad";

/** The developer policy enforced when this agent is the target. */
export function AgentPolicy({ name }: { name: string }) {
  const policy = useLoad(() => getPolicy(name), [name]);
  const none = policy.error instanceof ApiError && policy.error.status === 404;
  return (
    <section>
      <h2>Policy as target</h2>
      {none ? <p class="muted">No policy is stored for this target.</p> : <ErrorBox error={policy.error} />}
      {policy.data && (
        <>
          <p class="muted">
            Version {policy.data.version}
            {policy.data.author && ` by ${policy.data.author.subject}`}
            {policy.data.time ? `, ${formatUnix(policy.data.time)}` : ""}
            {policy.data.comment && ` — ${policy.data.comment}`}
          </p>
          <pre class="code">{policy.data.content}</pre>
        </>
      )}
    </section>
  );
}
