import { describe, expect, it } from "vitest";
import { filterAgents } from "../src/agents/filter";
import { parseTags } from "../src/agents/tags";
import { filterFromSearch, filterToSearch, streamQuery } from "../src/logs/filters";
import { toJsonLines } from "../src/logs/exportRows";
import { navItems, resolve } from "../src/shell/routes";
import { rolesText } from "../src/ui/format";

describe("routes", () => {
  it("resolves pages and agent names; an unknown path is not found", () => {
    expect(resolve("/agents")).toEqual({ page: "agents" });
    expect(resolve("/agents/budget%20x")).toEqual({ page: "agent", name: "budget x" });
    expect(resolve("/logs?caller=a")).toEqual({ page: "logs" });
    expect(resolve("/policy-editor?kind=policy&target=x")).toEqual({ page: "policy-editor" });
    expect(resolve("/")).toEqual({ page: "overview" });
    expect(resolve("/enforcement-layers")).toEqual({ page: "enforcement-layers" });
    expect(resolve("/system-health?x=1")).toEqual({ page: "system-health" });
    expect(resolve("/nope")).toEqual({ page: "not-found" });
  });
});

describe("agent filter", () => {
  const agents = [
    { name: "budget-report", spiffe_id: "spiffe://example.org/budget-report", risk: "low" as const, tags: { team: "finance" } },
    { name: "employee-menus", spiffe_id: "spiffe://example.org/employee-menus", risk: "high" as const },
  ];
  it("matches every term anywhere", () => {
    expect(filterAgents(agents, "").length).toBe(2);
    expect(filterAgents(agents, "FINANCE").map((a) => a.name)).toEqual(["budget-report"]);
    expect(filterAgents(agents, "example.org high").map((a) => a.name)).toEqual(["employee-menus"]);
    expect(filterAgents(agents, "finance high")).toEqual([]);
  });
});

describe("tags text", () => {
  it("parses key=value lines and refuses malformed ones", () => {
    expect(parseTags("a=1\n\n b = two words \n")).toEqual({ ok: true, tags: { a: "1", b: "two words" } });
    expect(parseTags("novalue").ok).toBe(false);
    expect(parseTags("a=1\na=2").ok).toBe(false);
  });
});

describe("log filters", () => {
  it("round-trips through the address bar", () => {
    const f = filterFromSearch("?caller=spiffe%3A%2F%2Fx%2Fa&decision=deny");
    expect(f.caller).toBe("spiffe://x/a");
    expect(filterFromSearch(filterToSearch(f))).toEqual(f);
  });

  it("replays from the first id when a start time is given", () => {
    const q = streamQuery({ ...filterFromSearch(""), layer: "rbac", since: "2026-01-01T00:00" });
    expect(q.layer).toBe("rbac");
    expect(q.after).toBe(0);
    expect(q.from).toBe(Math.floor(new Date("2026-01-01T00:00").getTime() / 1000));
    expect(streamQuery(filterFromSearch("?reason=x"))).toEqual({ reason: "x" });
  });

  it("exports one event per line", () => {
    expect(toJsonLines([{ id: 1, event: { a: 1 } }, { id: 2, event: { b: "x" } }])).toBe('{"a":1}\n{"b":"x"}\n');
    expect(toJsonLines([])).toBe("");
  });
});

describe("roles text", () => {
  it("shows an empty assignment as such, not as a dangling separator", () => {
    expect(rolesText({ "api://a": [], "api://b": ["Read", "Write"] })).toBe("api://a: (no roles); api://b: Read, Write");
  });
});

describe("every nav item has a page", () => {
  it("resolves to something other than not-found", () => {
    for (const item of navItems) expect(resolve(item.path).page, item.path).not.toBe("not-found");
  });
});
