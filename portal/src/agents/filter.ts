import type { Agent } from "../api/agents";
import { rolesText, tagsText } from "../ui/format";

/** Every whitespace-separated term must appear somewhere in the agent's visible fields. */
export function filterAgents(agents: Agent[], text: string): Agent[] {
  const terms = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return agents;
  return agents.filter((a) => {
    const hay = [a.name, a.display_name, a.spiffe_id, a.state, a.risk, tagsText(a.tags), rolesText(a.roles)]
      .join(" ")
      .toLowerCase();
    return terms.every((t) => hay.includes(t));
  });
}
