import { useState } from "preact/hooks";
import { type Agent, type AgentState, isolate, type Risk, restoreAccess, setRisk, setState, setTags } from "../api/agents";
import { can } from "../auth/roles";
import { role } from "../auth/session";
import { ActionForm } from "./ActionForm";
import { parseTags, tagsToText } from "./tags";

const risks: Risk[] = ["none", "low", "medium", "high"];
const states: AgentState[] = ["enabled", "disabled", "quarantined"];

type Open = null | "risk" | "state" | "isolate" | "restore" | "tags";

interface Props {
  agent: Agent;
  etag: string | null;
  onChanged: () => void;
}

/** The administrator's controls; other roles get none (the API would answer 403). */
export function AgentActions({ agent, etag, onChanged }: Props) {
  const [open, setOpen] = useState<Open>(null);
  const [risk, setRiskValue] = useState<Risk>(agent.risk ?? "low");
  const [state, setStateValue] = useState<AgentState>(agent.state ?? "enabled");
  const [restoreRisk, setRestoreRisk] = useState<Risk>("low");
  const [tagsText, setTagsText] = useState(tagsToText(agent.tags));
  if (!can(role.value, "agents.write")) return null;

  const done = () => {
    setOpen(null);
    onChanged();
  };
  const close = () => setOpen(null);
  const button = (which: Exclude<Open, null>, label: string) => (
    <button type="button" onClick={() => setOpen(which)} aria-pressed={open === which}>
      {label}
    </button>
  );

  return (
    <div class="actions">
      <div class="buttons">
        {button("risk", "Set risk")}
        {button("state", "Set state")}
        {button("tags", "Edit tags")}
        {button("isolate", "Isolate")}
        {button("restore", "Restore access")}
      </div>
      {open === "risk" && (
        <ActionForm title="Set risk" submitLabel="Set risk" onCancel={close} onDone={done} onSubmit={(c) => setRisk(agent.name, risk, c)}>
          <Select label="Risk" value={risk} options={risks} onChange={setRiskValue} />
        </ActionForm>
      )}
      {open === "state" && (
        <ActionForm title="Set state" submitLabel="Set state" onCancel={close} onDone={done} onSubmit={(c) => setState(agent.name, state, c)}>
          <Select label="State" value={state} options={states} onChange={setStateValue} />
        </ActionForm>
      )}
      {open === "isolate" && (
        <ActionForm title="Isolate" submitLabel="Isolate" onCancel={close} onDone={done} onSubmit={(c) => isolate(agent.name, c)}>
          <p>Sets the state to quarantined and the risk to high: every target refuses its calls.</p>
        </ActionForm>
      )}
      {open === "restore" && (
        <ActionForm title="Restore access" submitLabel="Restore access" onCancel={close} onDone={done} onSubmit={(c) => restoreAccess(agent.name, restoreRisk, c)}>
          <p>Sets the state to enabled and the risk to the level chosen here.</p>
          <Select label="Risk" value={restoreRisk} options={risks} onChange={setRestoreRisk} />
        </ActionForm>
      )}
      {open === "tags" && (
        <ActionForm
          title="Edit tags"
          submitLabel="Save tags"
          onCancel={close}
          onDone={done}
          onSubmit={(c) => {
            const parsed = parseTags(tagsText);
            if (!parsed.ok) return Promise.reject(new Error(parsed.error));
            // If-Match: someone else's change since this page loaded is refused (412), not overwritten.
            if (!etag) return Promise.reject(new Error("reload the agent: its ETag is unknown"));
            return setTags(agent.name, parsed.tags, c, etag);
          }}
        >
          <label>
            Tags, one key=value per line
            <textarea class="mono" value={tagsText} onInput={(e) => setTagsText(e.currentTarget.value)} />
          </label>
        </ActionForm>
      )}
    </div>
  );
}

function Select<T extends string>({ label, value, options, onChange }: { label: string; value: T; options: T[]; onChange: (v: T) => void }) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value as T)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
