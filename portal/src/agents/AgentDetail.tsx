import { agentHistory, getAgent } from "../api/agents";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix, rolesText, tagsText } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { AgentActions } from "./AgentActions";
import { AgentHistory } from "./AgentHistory";
import { AgentPolicy } from "./AgentPolicy";
import { AgentTraffic } from "./AgentTraffic";

export function AgentDetail({ name }: { name: string }) {
  const loaded = useLoad(() => getAgent(name), [name]);
  const history = useLoad(() => agentHistory(name), [name]);
  const agent = loaded.data?.data;
  const reload = () => {
    loaded.reload();
    history.reload();
  };
  return (
    <section class="page">
      <p>
        <a href="/agents">← Agents</a>
      </p>
      <h1>{name}</h1>
      <ErrorBox error={loaded.error} />
      {agent && (
        <>
          <dl class="fields">
            <Field label="Display name" value={agent.display_name} />
            <Field label="SPIFFE ID" value={agent.spiffe_id} mono />
            <Field label="Client ID" value={agent.client_id} mono />
            <Field label="Owner" value={agent.owner} />
            <Field label="State" value={agent.state} />
            <Field label="Risk" value={agent.risk && `${agent.risk} (by ${agent.risk_source ?? "?"}, ${formatUnix(agent.risk_updated)})`} />
            <Field label="Tags" value={tagsText(agent.tags)} />
            <Field label="Roles per audience" value={rolesText(agent.roles)} />
            <Field label="Trust domain" value={agent.trust_domain} />
            <Field
              label="Federated credentials"
              value={(agent.federated_credentials ?? []).map((f) => `${f.name}: ${f.issuer} ${f.subject ?? f.subject_pattern ?? ""}`).join("; ")}
            />
            <Field label="Revision" value={`${agent.revision ?? ""} (created ${formatUnix(agent.created)}, updated ${formatUnix(agent.updated)})`} />
          </dl>
          <AgentActions key={loaded.data?.etag ?? ""} agent={agent} etag={loaded.data?.etag ?? null} onChanged={reload} />
          <AgentPolicy name={name} />
          <AgentTraffic spiffeId={agent.spiffe_id ?? ""} />
        </>
      )}
      <AgentHistory loaded={history} />
    </section>
  );
}

function Field({ label, value, mono }: { label: string; value: string | undefined; mono?: boolean }) {
  return (
    <>
      <dt>{label}</dt>
      <dd class={mono ? "mono" : undefined}>{value || "—"}</dd>
    </>
  );
}
