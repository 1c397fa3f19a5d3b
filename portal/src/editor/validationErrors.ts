import { isMap, isSeq, parseDocument, type Node } from "yaml";

/** One refusal of the policy or governance compiler, taken apart for the editor. */
export interface FieldError {
  /** The server's text, shown as it is. */
  raw: string;
  /** 1-based line in the candidate, from the message or else found from the field path. */
  line: number | null;
  column: number | null;
  /** e.g. `callers[0].rules[1].methods[0]`; null when the message names none. */
  field: string | null;
  message: string;
}

// The compilers' errors read `<source>[:<line>[:<column>]]: [<field path>: ]<message>`
// (policy_compiler.cc configError), e.g.
// `policy/budget-backend:24:24: callers[0].rules[0].methods[0]: unknown method "GETT"`.
const SOURCED = /^([^\s:]+)(?::(\d+)(?::(\d+))?)?: ([\s\S]*)$/;
// A field path: dotted keys and [n] indexes, no spaces (so `invalid YAML: ...` is a message).
const FIELD = /^([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*): ([\s\S]*)$/;

export function parseFieldError(raw: string): FieldError {
  const out: FieldError = { raw, line: null, column: null, field: null, message: raw };
  const s = SOURCED.exec(raw);
  if (!s) return out;
  // Only a source we know carries no field: `target: ...` alone is a field, not a source.
  const hasMark = s[2] !== undefined;
  const isSource = hasMark || /^(policy|governance)\//.test(s[1]!);
  let rest = raw;
  if (isSource) {
    out.line = s[2] ? Number(s[2]) : null;
    out.column = s[3] ? Number(s[3]) : null;
    rest = s[4]!;
  }
  const f = FIELD.exec(rest);
  if (f) {
    out.field = f[1]!;
    out.message = f[2]!;
  } else {
    out.message = rest;
  }
  return out;
}

/** `callers[0].rules[1]` → ["callers", 0, "rules", 1]. */
export function fieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The line of `field` in `text`, for errors that name a field but no line (a target that is
 * not the agent's, a token block the compiler refused as a whole). A key names its own
 * line; a missing one falls back to the nearest ancestor that exists. Null when the text
 * does not parse or nothing on the path does.
 */
export function locateField(text: string, field: string): number | null {
  let doc;
  try {
    doc = parseDocument(text);
  } catch {
    return null;
  }
  if (doc.errors.length > 0) return null;
  let node: unknown = doc.contents;
  let line: number | null = null;
  for (const key of fieldPath(field)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as { value?: unknown } | null;
        return k && typeof k === "object" && String(k.value) === String(key);
      });
      if (!pair) break;
      const k = pair.key as Node;
      if (k.range) line = lineAt(text, k.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number" && key < node.items.length) {
      node = node.items[key];
      const range = (node as Node | null)?.range;
      if (range) line = lineAt(text, range[0]);
    } else {
      break;
    }
  }
  return line;
}

/** The errors with their lines filled in where the message left them out. */
export function mapErrors(errors: string[], text: string): FieldError[] {
  return errors.map((raw) => {
    const e = parseFieldError(raw);
    if (e.line === null && e.field) e.line = locateField(text, e.field);
    return e;
  });
}

/** Line → the errors on it, for the gutter. */
export function errorsByLine(errors: FieldError[]): Map<number, FieldError[]> {
  const out = new Map<number, FieldError[]>();
  for (const e of errors) {
    if (e.line === null) continue;
    out.set(e.line, [...(out.get(e.line) ?? []), e]);
  }
  return out;
}
