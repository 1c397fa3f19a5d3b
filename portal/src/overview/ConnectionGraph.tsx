import cytoscape, { type Core } from "cytoscape";
import { useEffect, useRef } from "preact/hooks";

import type { GraphEdge, GraphNode } from "./graph";

// Colours are the stylesheet's (styles.css :root); cytoscape draws on a canvas, so they are
// repeated here rather than read from CSS at run time.
const COLOURS = { allow: "#1f7a3d", deny: "#b42318", mixed: "#c77700", node: "#2357c4", quarantined: "#b42318", disabled: "#5c6577", other: "#8a94a6" };

function nodeColour(state: string): string {
  if (state === "quarantined") return COLOURS.quarantined;
  if (state === "disabled") return COLOURS.disabled;
  if (state === "enabled") return COLOURS.node;
  return COLOURS.other;
}

// Cytoscape injects a <style> element (position: relative for its container) unless an
// element with this id exists; the CSP refuses inline styles, so dashboards.css carries the
// rule and this marker tells cytoscape it is there.
const CYTOSCAPE_STYLESHEET_ID = "__________cytoscape_stylesheet";
function markCytoscapeStylesheet(): void {
  if (document.getElementById(CYTOSCAPE_STYLESHEET_ID)) return;
  const marker = document.createElement("meta");
  marker.id = CYTOSCAPE_STYLESHEET_ID;
  document.head.prepend(marker);
}

/** Agents as nodes, calls as edges coloured by recent decisions and as thick as their volume. */
export function ConnectionGraph({ nodes, edges, onSelect }: { nodes: GraphNode[]; edges: GraphEdge[]; onSelect?: (agent: string) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | null>(null);

  useEffect(() => {
    if (!box.current) return;
    markCytoscapeStylesheet();
    const c = cytoscape({
      container: box.current,
      userZoomingEnabled: false,
      boxSelectionEnabled: false,
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "background-color": "data(colour)",
            "font-size": 11,
            "text-valign": "bottom",
            "text-margin-y": 4,
            width: 22,
            height: 22,
          },
        },
        {
          selector: "edge",
          style: {
            width: "data(width)",
            "line-color": "data(colour)",
            "target-arrow-color": "data(colour)",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
            label: "data(label)",
            "font-size": 9,
            "text-background-color": "#ffffff",
            "text-background-opacity": 1,
          },
        },
      ],
    });
    c.on("tap", "node", (e) => onSelect?.(String(e.target.data("label"))));
    cy.current = c;
    return () => {
      c.destroy();
      cy.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    c.batch(() => {
      c.elements().remove();
      c.add([
        ...nodes.map((n) => ({ group: "nodes" as const, data: { id: n.id, label: n.label, state: n.state, colour: nodeColour(n.state) } })),
        ...edges.map((e) => ({ group: "edges" as const, data: { id: e.id, source: e.source, target: e.target, width: e.width, label: e.label, colour: COLOURS[e.verdict] } })),
      ]);
    });
    c.layout({ name: "circle", padding: 30, avoidOverlap: true }).run();
  }, [nodes, edges]);

  return (
    <div>
      <div ref={box} class="graph" role="img" aria-label={`Connection graph: ${nodes.length} agents, ${edges.length} caller-target pairs`} data-testid="connection-graph" />
      <table class="grid compact" data-testid="connection-edges">
        <caption class="muted">The graph's edges</caption>
        <thead>
          <tr>
            <th>Caller</th>
            <th>Target</th>
            <th>Allowed</th>
            <th>Denied</th>
          </tr>
        </thead>
        <tbody>
          {edges.map((e) => (
            <tr key={e.id} class={`edge-${e.verdict}`}>
              <td>{nodes.find((n) => n.id === e.source)?.label ?? e.source}</td>
              <td>{nodes.find((n) => n.id === e.target)?.label ?? e.target}</td>
              <td>{e.allow}</td>
              <td class={e.deny > 0 ? "deny" : ""}>{e.deny}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
