import { useState } from "preact/hooks";
import type { LogFilter } from "./filters";

const textFields: { key: keyof LogFilter; label: string; hint: string }[] = [
  { key: "caller", label: "Caller", hint: "SPIFFE ID" },
  { key: "target", label: "Target", hint: "SPIFFE ID" },
  { key: "layer", label: "Layer", hint: "transport, rbac, token, risk, tags…" },
  { key: "reason", label: "Reason", hint: "e.g. rule_denied" },
];

export function LogFilterForm({ initial, onApply }: { initial: LogFilter; onApply: (f: LogFilter) => void }) {
  const [draft, setDraft] = useState(initial);
  const set = (key: keyof LogFilter, value: string) => setDraft((d) => ({ ...d, [key]: value }));
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      {textFields.map((f) => (
        <label key={f.key}>
          {f.label}
          <input type="text" placeholder={f.hint} value={draft[f.key]} onInput={(e) => set(f.key, e.currentTarget.value)} />
        </label>
      ))}
      <label>
        Decision
        <select value={draft.decision} onChange={(e) => set("decision", e.currentTarget.value)}>
          <option value="">any</option>
          <option value="allow">allow</option>
          <option value="deny">deny</option>
        </select>
      </label>
      <label>
        Since
        <input type="datetime-local" value={draft.since} onInput={(e) => set("since", e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary">
        Apply
      </button>
    </form>
  );
}
