export interface NavItem {
  path: string;
  label: string;
}

export const navItems: NavItem[] = [
  { path: "/", label: "Overview" },
  { path: "/agents", label: "Agents" },
  { path: "/network-access", label: "Network access" },
  { path: "/policy-editor", label: "Policy editor" },
  { path: "/enforcement-layers", label: "Enforcement layers" },
  { path: "/what-if", label: "What If" },
  { path: "/logs", label: "Logs" },
  { path: "/system-health", label: "System health" },
];

export type Route =
  | { page: "agents" }
  | { page: "agent"; name: string }
  | { page: "logs" }
  | { page: "what-if" }
  | { page: "network-access" }
  | { page: "overview" }
  | { page: "enforcement-layers" }
  | { page: "system-health" }
  | { page: "policy-editor" }
  | { page: "not-found" };

export function resolve(pathWithQuery: string): Route {
  const path = pathWithQuery.split("?")[0] ?? "/";
  if (path === "/" || path === "") return { page: "overview" };
  if (path === "/agents") return { page: "agents" };
  const agent = /^\/agents\/([^/]+)$/.exec(path);
  if (agent) return { page: "agent", name: decodeURIComponent(agent[1]!) };
  if (path === "/logs") return { page: "logs" };
  if (path === "/what-if") return { page: "what-if" };
  if (path === "/network-access") return { page: "network-access" };
  if (path === "/enforcement-layers") return { page: "enforcement-layers" };
  if (path === "/system-health") return { page: "system-health" };
  if (path === "/policy-editor") return { page: "policy-editor" };
  return { page: "not-found" };
}

export function isActive(item: NavItem, pathWithQuery: string): boolean {
  const path = pathWithQuery.split("?")[0] ?? "/";
  return item.path === "/" ? path === "/" : path === item.path || path.startsWith(`${item.path}/`);
}
