import { describe, expect, it } from "vitest";
import { callerText, summariseDryRun, verdictText } from "../src/editor/dryRun";
import { diffHunks, diffStats, lineDiff, splitLines } from "../src/editor/lineDiff";
import { editorPermissions } from "../src/editor/permissions";
import { errorsByLine, fieldPath, locateField, mapErrors, parseFieldError } from "../src/editor/validationErrors";

const ops = (a: string, b: string) => lineDiff(a, b).map((l) => `${l.op === "same" ? " " : l.op === "add" ? "+" : "-"}${l.text}`);

describe("lineDiff", () => {
  it("splits lines with a final newline ending the last line", () => {
    expect(splitLines("")).toEqual([]);
    expect(splitLines("a\nb\n")).toEqual(["a", "b"]);
    expect(splitLines("a\nb")).toEqual(["a", "b"]);
    expect(splitLines("a\n\n")).toEqual(["a", ""]);
  });

  it("keeps equal texts as they are", () => {
    const d = lineDiff("a\nb\n", "a\nb\n");
    expect(d.every((l) => l.op === "same")).toBe(true);
    expect(diffHunks(d)).toEqual([]);
  });

  it("finds a changed line between common lines, deletion first, with both line numbers", () => {
    expect(ops("a\nb\nc\n", "a\nB\nc\n")).toEqual([" a", "-b", "+B", " c"]);
    const d = lineDiff("a\nb\nc\n", "a\nB\nc\n");
    expect(d[1]).toEqual({ op: "del", text: "b", oldLine: 2 });
    expect(d[2]).toEqual({ op: "add", text: "B", newLine: 2 });
    expect(d[3]).toEqual({ op: "same", text: "c", oldLine: 3, newLine: 3 });
  });

  it("is a longest common subsequence in the middle, not just prefix and suffix", () => {
    expect(ops("x\na\nb\nc\ny\n", "x\nb\nq\nc\na\ny\n")).toEqual([" x", "-a", " b", "+q", " c", "+a", " y"]);
    expect(diffStats(lineDiff("x\na\nb\nc\ny\n", "x\nb\nq\nc\na\ny\n"))).toEqual({ added: 2, removed: 1 });
  });

  it("handles empty sides and pure insertions and deletions", () => {
    expect(ops("", "a\nb\n")).toEqual(["+a", "+b"]);
    expect(ops("a\nb\n", "")).toEqual(["-a", "-b"]);
    expect(ops("a\nc\n", "a\nb\nc\n")).toEqual([" a", "+b", " c"]);
  });

  it("groups changes into hunks with context and counts what it left out", () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join("\n");
    const after = before.replace("l2\n", "L2\n").replace("l18\n", "L18\n");
    const hunks = diffHunks(lineDiff(before, after), 2);
    expect(hunks).toHaveLength(2);
    expect(hunks[0]!.skippedBefore).toBe(0);
    expect(hunks[0]!.lines.map((l) => l.text)).toEqual(["l1", "l2", "L2", "l3", "l4"]);
    expect(hunks[1]!.skippedBefore).toBe(11);
    expect(hunks[1]!.lines.map((l) => l.text)).toEqual(["l16", "l17", "l18", "L18", "l19", "l20"]);
  });
});

const policy = `version: "budget-backend.1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
callers:
  - match: {id: spiffe://example.org/budget-report}
    rules:
      - {id: report-read, methods: [GETT], path: {exact: /budget/read}, action: allow}
      - id: report-default-deny
        methods: ["*"]
        path: {prefix: /}
        action: deny
`;

describe("validation errors", () => {
  it("takes the compiler's message apart: source, line, column, field path, message", () => {
    expect(parseFieldError('policy/budget-backend:8:34: callers[0].rules[0].methods[0]: unknown method "GETT"')).toEqual({
      raw: 'policy/budget-backend:8:34: callers[0].rules[0].methods[0]: unknown method "GETT"',
      line: 8,
      column: 34,
      field: "callers[0].rules[0].methods[0]",
      message: 'unknown method "GETT"',
    });
  });

  it("knows a YAML error has no field, and a bare field is not a source", () => {
    const y = parseFieldError("policy/x:3:1: invalid YAML: end of map not found");
    expect([y.line, y.field, y.message]).toEqual([3, null, "invalid YAML: end of map not found"]);
    const t = parseFieldError("target: must not be empty");
    expect([t.line, t.field, t.message]).toEqual([null, "target", "must not be empty"]);
    const s = parseFieldError("policy/budget-backend: target: spiffe://example.org/x is not agent budget-backend's SPIFFE ID");
    expect([s.line, s.field]).toEqual([null, "target"]);
    expect(parseFieldError("something odd").message).toBe("something odd");
  });

  it("parses field paths", () => {
    expect(fieldPath("callers[0].rules[1].methods[0]")).toEqual(["callers", 0, "rules", 1, "methods", 0]);
    expect(fieldPath("token.issuers[0].issuer")).toEqual(["token", "issuers", 0, "issuer"]);
  });

  it("finds the line of a field the message names without a line, or its nearest ancestor", () => {
    expect(locateField(policy, "target")).toBe(2);
    expect(locateField(policy, "callers[0].rules[1].methods")).toBe(10);
    expect(locateField(policy, "callers[0].rules[1]")).toBe(9);
    expect(locateField(policy, "callers[0].rules[1].roles")).toBe(9);
    expect(locateField(policy, "token.issuers")).toBeNull();
    expect(locateField("a: [", "a")).toBeNull();
  });

  it("maps a list of errors to gutter lines", () => {
    const errors = mapErrors(
      ['policy/budget-backend:8:34: callers[0].rules[0].methods[0]: unknown method "GETT"', "policy/budget-backend: target: not the agent's ID", "policy is empty"],
      policy,
    );
    expect(errors.map((e) => e.line)).toEqual([8, 2, null]);
    const byLine = errorsByLine(errors);
    expect([...byLine.keys()]).toEqual([8, 2]);
    expect(byLine.get(8)![0]!.field).toBe("callers[0].rules[0].methods[0]");
  });
});

describe("editor permissions", () => {
  it("lets admins edit both kinds, developers policies only, viewers nothing", () => {
    expect(editorPermissions("admin", "policy")).toEqual({ edit: true, rollback: true });
    expect(editorPermissions("admin", "governance")).toEqual({ edit: true, rollback: true });
    expect(editorPermissions("developer", "policy")).toEqual({ edit: true, rollback: true });
    expect(editorPermissions("developer", "governance")).toEqual({ edit: false, rollback: false });
    expect(editorPermissions("viewer", "policy")).toEqual({ edit: false, rollback: false });
    expect(editorPermissions(null, "policy")).toEqual({ edit: false, rollback: false });
  });
});

describe("dry-run summary", () => {
  const allow = { decision: "allow", layer: "rbac", reason: "allowed", rule_id: "report-read" };
  const deny = { decision: "deny", layer: "rbac", reason: "rule_denied", rule_id: "report-default-deny" };
  it("counts and lists the changed requests", () => {
    const s = summariseDryRun({
      evaluated: 3,
      changed: 1,
      results: [
        { caller_name: "budget-report", method: "GET", path: "/budget/read", live: allow, candidate: deny, changed: true },
        { caller_name: "budget-report", method: "POST", path: "/budget/submit", live: deny, candidate: deny, changed: false },
        { caller_id: "spiffe://gcp.example/x", method: "GET", path: "/", live: deny, candidate: deny, changed: false },
      ],
    });
    expect(s.headline).toBe("1 of 3 recorded requests would change");
    expect(s.changedRows.map((r) => r.path)).toEqual(["/budget/read"]);
    expect(s.allRows).toHaveLength(3);
  });

  it("works out changes when the server gives no flags or counts", () => {
    const s = summariseDryRun({
      results: [
        { live: allow, candidate: deny },
        { live: allow, candidate: { ...allow, rule_id: "renamed" } },
      ],
    });
    expect([s.evaluated, s.changed]).toEqual([2, 1]);
    expect(summariseDryRun({ evaluated: 1, changed: 0, results: [] }).headline).toBe("0 of 1 recorded request would change");
  });

  it("writes verdicts and callers for people", () => {
    expect(verdictText(deny)).toBe("deny rbac/rule_denied (rule report-default-deny)");
    expect(verdictText(allow)).toBe("allow (rule report-read)");
    expect(verdictText(undefined)).toBe("—");
    expect(callerText({ caller_name: "budget-report", caller_id: "spiffe://example.org/budget-report" })).toBe("budget-report");
    expect(callerText({ caller_id: "spiffe://example.org/x" })).toBe("spiffe://example.org/x");
  });
});
