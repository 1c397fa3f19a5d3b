import type { LogRow } from "./buffer";

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

interface Props {
  rows: LogRow[];
  expanded: ReadonlySet<number>;
  onToggle: (id: number) => void;
}

export function LogTable({ rows, expanded, onToggle }: Props) {
  if (rows.length === 0) return <p class="muted">No events yet: new ones appear here as sidecars ship them.</p>;
  return (
    <table class="grid logs">
      <thead>
        <tr>
          <th />
          <th>Time</th>
          <th title="ingress: the target's sidecar decided; egress: the caller's">Side</th>
          <th>Decision</th>
          <th>Layer / reason</th>
          <th>Caller</th>
          <th>Target</th>
          <th>Request</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ id, event: e }) => {
          const open = expanded.has(id);
          return [
            <tr key={id} class={`row decision-${str(e.decision)}`}>
              <td>
                <button type="button" class="link" aria-expanded={open} aria-label={open ? "Hide event" : "Show event"} onClick={() => onToggle(id)}>
                  {open ? "▾" : "▸"}
                </button>
              </td>
              <td class="nowrap">{str(e.time)}</td>
              <td>{str(e.direction)}</td>
              <td>
                <span class={`pill decision-${str(e.decision)}`}>{str(e.decision)}</span> {str(e.status)}
              </td>
              <td>
                {str(e.layer)} / {str(e.reason)}
              </td>
              <td class="mono">{str(e.caller)}</td>
              <td class="mono">{str(e.target)}</td>
              <td class="mono">
                {str(e.method)} {str(e.path)}
              </td>
            </tr>,
            open && (
              <tr key={`${id}-json`} class="expanded">
                <td colSpan={8}>
                  <pre class="code">{JSON.stringify(e, null, 2)}</pre>
                </td>
              </tr>
            ),
          ];
        })}
      </tbody>
    </table>
  );
}
