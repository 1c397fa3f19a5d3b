import { can, type Role } from "../auth/roles";

/** A target's developer policy, or its admin governance block (docs/control-plane.md, "Policies"). */
export type DocKind = "policy" | "governance";

export const docKinds: { kind: DocKind; label: string }[] = [
  { kind: "policy", label: "Developer policy" },
  { kind: "governance", label: "Admin governance" },
];

export function isDocKind(value: unknown): value is DocKind {
  return value === "policy" || value === "governance";
}

export interface EditorPermissions {
  /** The editor, validation, the diff before applying, dry run and Apply. */
  edit: boolean;
  /** Rollback in the history. */
  rollback: boolean;
}

// The server's role table: developers write and roll back policies, never governance
// ("governance always wins"); viewers change nothing. The server checks again; this only
// keeps controls that would get 403 off the screen.
export function editorPermissions(role: Role | null | undefined, kind: DocKind): EditorPermissions {
  const write = can(role, kind === "policy" ? "policies.write" : "governance.write");
  return { edit: write, rollback: write };
}
