export type Role = "admin" | "developer" | "viewer";

export type Action =
  | "agents.write"
  | "policies.write"
  | "governance.write"
  | "credentials.rotate"
  | "read"
  | "explain"
  | "test-call";

// Mirrors the control plane's role table (docs/control-plane.md, "Roles"); the server
// checks again, this only keeps controls that would get 403 off the screen.
const allowed: Record<Role, ReadonlySet<Action>> = {
  // A test call is real traffic sent as an agent: administrators only.
  admin: new Set<Action>(["agents.write", "policies.write", "governance.write", "credentials.rotate", "read", "explain", "test-call"]),
  developer: new Set<Action>(["policies.write", "read", "explain"]),
  viewer: new Set<Action>(["read", "explain"]),
};

export function isRole(value: unknown): value is Role {
  return value === "admin" || value === "developer" || value === "viewer";
}

export function can(role: Role | null | undefined, action: Action): boolean {
  return !!role && isRole(role) && allowed[role].has(action);
}
