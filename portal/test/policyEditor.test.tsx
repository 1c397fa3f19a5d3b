import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Role } from "../src/auth/roles";
import { user } from "../src/auth/session";
import { applyBlocker } from "../src/editor/applyGate";
import { lineRange } from "../src/editor/lineRange";
import { PolicyEditorPage, selectionFromSearch } from "../src/editor/PolicyEditorPage";
import { currentPath } from "../src/shell/router";
import { fakeApi } from "./fakeApi";

const live = `version: "budget-backend.2"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
callers:
  - match: {id: spiffe://example.org/budget-report}
    rules:
      - {id: report-read, methods: [GET], path: {exact: /budget/read}, action: allow}
      - {id: report-default-deny, methods: ["*"], path: {prefix: /}, action: deny}
`;
const v1 = live.replace("budget-backend.2", "budget-backend.1");
const meta = { kind: "policy", target: "budget-backend", author: { subject: "admin", method: "login" }, time: 1700000000 };

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

const routes = {
  "/api/v1/policies": { documents: [{ ...meta, version: 2 }] },
  "/api/v1/governance": { documents: [{ ...meta, kind: "governance", version: 1 }] },
  "/api/v1/policies/budget-backend/history": {
    history: [
      { ...meta, version: 2, action: "put", comment: "second" },
      { ...meta, version: 1, action: "put", comment: "seed" },
    ],
  },
  "/api/v1/policies/budget-backend/versions/1": { ...meta, version: 1, content: v1 },
  "/api/v1/governance/budget-backend/history": { history: [{ ...meta, kind: "governance", version: 1, action: "put" }] },
};

type Extra = (url: URL, init: RequestInit) => Response | undefined;

function api(extra?: Extra) {
  return fakeApi(routes, (url, init) => {
    const custom = extra?.(url, init);
    if (custom) return custom;
    if (url.pathname === "/api/v1/policies/budget-backend" && (init.method ?? "GET") === "GET")
      return json({ ...meta, version: 2, content: live }, 200, { ETag: '"policy-budget-backend-v2"' });
    if (url.pathname === "/api/v1/governance/budget-backend" && (init.method ?? "GET") === "GET")
      return json({ ...meta, kind: "governance", version: 1, content: "version: g1\ntarget:\n  max_risk: medium\n" }, 200, { ETag: '"governance-budget-backend-v1"' });
    if (url.pathname.endsWith("/validate")) {
      const { content } = JSON.parse(String(init.body)) as { content: string };
      return content.includes("GETT")
        ? json({ valid: false, errors: ['policy/budget-backend:8:39: callers[0].rules[0].methods[0]: unknown method "GETT"'] })
        : json({ valid: true, errors: [] });
    }
    return undefined;
  });
}

function open(role: Role, kind = "policy") {
  user.value = { subject: `${role}-person`, method: "login", role };
  currentPath.value = `/policy-editor?kind=${kind}&target=budget-backend`;
  render(<PolicyEditorPage />);
}

const editor = () => screen.findByLabelText(/budget-backend policy \(editing\)/);
const type = async (text: string) => fireEvent.input(await editor(), { target: { value: text } });
const validation = () => screen.getByTestId("validation").getAttribute("data-state");

describe("Policy editor", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    user.value = null;
  });

  it("reads the selection from the address", () => {
    expect(selectionFromSearch("?kind=governance&target=x")).toEqual({ kind: "governance", target: "x" });
    expect(selectionFromSearch("?kind=bogus")).toEqual({ kind: "policy", target: "" });
  });

  it("gates Apply on a validated change", () => {
    expect(applyBlocker(false, "unchanged")).toMatch(/nothing to apply/);
    expect(applyBlocker(true, "pending")).toMatch(/waiting/);
    expect(applyBlocker(true, "invalid")).toMatch(/fix the errors/);
    expect(applyBlocker(true, "failed")).toMatch(/could not be validated/);
    expect(applyBlocker(true, "valid")).toBeNull();
    expect(lineRange("a\nbb\nc", 2)).toEqual([2, 4]);
    expect(lineRange("a\nbb\nc", 9)).toEqual([5, 6]);
  });

  for (const [role, kind] of [
    ["viewer", "policy"],
    ["viewer", "governance"],
    ["developer", "governance"],
  ] as const) {
    it(`shows a ${role} the ${kind} read-only: no editor, apply, dry run or rollback`, async () => {
      api();
      open(role, kind);
      await screen.findByTestId("yaml-readonly");
      await screen.findByTestId("history");
      expect(screen.getByTestId("read-only-note")).toBeTruthy();
      expect(document.querySelector("textarea")).toBeNull();
      for (const name of [/apply/i, /dry run/i, /roll back/i, /discard/i]) expect(screen.queryByRole("button", { name })).toBeNull();
      expect(screen.getAllByRole("button", { name: "View" }).length).toBeGreaterThan(0);
    });
  }

  it("shows an error inline with its line and field, marks the gutter, and keeps Apply disabled", async () => {
    api();
    open("developer");
    const apply = () => screen.getByRole("button", { name: /apply/i }) as HTMLButtonElement;
    await editor();
    expect(validation()).toBe("unchanged");
    expect(apply().disabled).toBe(true);
    await type(live.replace("methods: [GET]", "methods: [GETT]"));
    expect(validation()).toBe("pending");
    await waitFor(() => expect(validation()).toBe("invalid"), { timeout: 2000 });
    const err = screen.getByTestId("validation-error");
    expect(err.textContent).toContain("line 8:39");
    expect(err.textContent).toContain("callers[0].rules[0].methods[0]");
    expect(err.textContent).toContain('unknown method "GETT"');
    expect(document.querySelector('.yaml-gutter [data-line="8"]')?.className).toBe("gutter-error");
    expect(document.querySelectorAll(".gutter-error")).toHaveLength(1);
    expect(apply().disabled).toBe(true);
  });

  it("validates once typing pauses, not on every keystroke", async () => {
    const calls = api();
    open("admin");
    await type(live + "#a\n");
    await type(live + "#ab\n");
    await type(live + "#abc\n");
    await waitFor(() => expect(validation()).toBe("valid"), { timeout: 2000 });
    const posts = calls.filter((c) => c.url.pathname.endsWith("/validate"));
    expect(posts).toHaveLength(1);
    expect(JSON.parse(String(posts[0]!.init.body))).toEqual({ content: live + "#abc\n", target: "budget-backend" });
  });

  it("diffs a valid change against live and applies it with a comment and the loaded ETag", async () => {
    const calls = api((url, init) =>
      url.pathname === "/api/v1/policies/budget-backend" && init.method === "PUT" ? json({ ...meta, version: 3 }, 200, { ETag: '"policy-budget-backend-v3"' }) : undefined,
    );
    open("admin");
    const changed = live.replace("action: allow}", "action: deny}");
    await type(changed);
    await waitFor(() => expect(validation()).toBe("valid"), { timeout: 2000 });
    const diff = screen.getByTestId("diff");
    expect(diff.textContent).toContain("+1");
    expect(diff.querySelector(".diff-del")?.textContent).toContain("action: allow}");
    expect(diff.querySelector(".diff-add")?.textContent).toContain("action: deny}");
    fireEvent.click(screen.getByRole("button", { name: /apply/i }));
    fireEvent.input(screen.getByLabelText(/comment/i), { target: { value: "deny reads" } });
    fireEvent.submit(screen.getByRole("form", { name: "Apply" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    const put = calls.find((c) => c.method === "PUT")!;
    expect((put.init.headers as Record<string, string>)["If-Match"]).toBe('"policy-budget-backend-v2"');
    expect(JSON.parse(String(put.init.body))).toEqual({ content: changed, comment: "deny reads" });
  });

  it("says clearly when someone else changed it first (412) and keeps the text", async () => {
    api((url, init) =>
      url.pathname === "/api/v1/policies/budget-backend" && init.method === "PUT"
        ? json({ error: "precondition_failed", layer: "control_plane", reason: "If-Match names no current version" }, 412)
        : undefined,
    );
    open("admin");
    const changed = live + "# mine\n";
    await type(changed);
    await waitFor(() => expect(validation()).toBe("valid"), { timeout: 2000 });
    fireEvent.click(screen.getByRole("button", { name: /apply/i }));
    fireEvent.input(screen.getByLabelText(/comment/i), { target: { value: "x" } });
    fireEvent.submit(screen.getByRole("form", { name: "Apply" }));
    expect((await screen.findByText(/changed by someone else since you loaded version 2/i)).textContent).toContain("your text is kept");
    expect(screen.getByTestId("stale")).toBeTruthy();
    expect(((await editor()) as HTMLTextAreaElement).value).toBe(changed);
  });

  it("dry-runs the candidate and lists the requests it would change, all on request", async () => {
    const allow = { decision: "allow", layer: "rbac", reason: "allowed", rule_id: "report-read" };
    const deny = { decision: "deny", layer: "rbac", reason: "rule_denied", rule_id: "report-default-deny" };
    const calls = api((url) =>
      url.pathname.endsWith("/dry-run")
        ? json({
            target: "budget-backend",
            live_version: 2,
            evaluated: 2,
            changed: 1,
            results: [
              { request_id: "r1", caller_name: "budget-report", method: "GET", path: "/budget/read", recorded: allow, live: allow, candidate: deny, changed: true },
              { request_id: "r2", caller_name: "budget-report", method: "POST", path: "/budget/submit", recorded: deny, live: deny, candidate: deny, changed: false },
            ],
          })
        : undefined,
    );
    open("admin");
    const changed = live.replace("action: allow}", "action: deny}");
    await type(changed);
    await waitFor(() => expect(validation()).toBe("valid"), { timeout: 2000 });
    fireEvent.click(screen.getByRole("button", { name: "Dry run" }));
    expect((await screen.findByTestId("dry-run-summary")).textContent).toContain("1 of 2 recorded requests would change");
    const rows = screen.getAllByTestId("dry-run-row");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.textContent).toContain("budget-report");
    expect(rows[0]!.textContent).toContain("GET /budget/read");
    expect(rows[0]!.textContent).toContain("allow (rule report-read)");
    expect(rows[0]!.textContent).toContain("deny rbac/rule_denied (rule report-default-deny)");
    fireEvent.click(screen.getByLabelText(/show all 2/i));
    expect(screen.getAllByTestId("dry-run-row")).toHaveLength(2);
    const post = calls.find((c) => c.url.pathname.endsWith("/dry-run"))!;
    expect(post.url.pathname).toBe("/api/v1/policies/budget-backend/dry-run");
    expect(JSON.parse(String(post.init.body))).toEqual({ document: changed, limit: 200 });
  });

  it("says when the server has no dry run", async () => {
    api();
    open("admin");
    await type(live + "# x\n");
    await waitFor(() => expect(validation()).toBe("valid"), { timeout: 2000 });
    fireEvent.click(screen.getByRole("button", { name: "Dry run" }));
    expect((await screen.findByText(/no dry-run endpoint \(404\)/)).textContent).toBeTruthy();
  });

  it("diffs a version against live, and rolls back to it after a confirm step with comment and If-Match", async () => {
    const calls = api((url, init) =>
      url.pathname.endsWith("/rollback") && init.method === "POST" ? json({ ...meta, version: 3, action: "restore", restored_from: 1 }) : undefined,
    );
    open("developer");
    await screen.findByTestId("history-v1");
    fireEvent.click(screen.getAllByRole("button", { name: "Diff with live" })[0]!);
    const diff = await screen.findByText(/Version 1 against the live version 2/);
    expect(diff.parentElement?.textContent).toContain('version: "budget-backend.1"');
    fireEvent.click(screen.getByRole("button", { name: "Roll back to v1" }));
    const form = await screen.findByRole("form", { name: "Roll back to version 1" });
    expect(form.textContent).toContain("A new version 3 gets version 1's content");
    expect(calls.some((c) => c.url.pathname.endsWith("/rollback"))).toBe(false);
    fireEvent.input(screen.getByLabelText(/comment/i), { target: { value: "back to seed" } });
    fireEvent.submit(form);
    await waitFor(() => expect(calls.some((c) => c.url.pathname.endsWith("/rollback"))).toBe(true));
    const post = calls.find((c) => c.url.pathname.endsWith("/rollback"))!;
    expect((post.init.headers as Record<string, string>)["If-Match"]).toBe('"policy-budget-backend-v2"');
    expect(JSON.parse(String(post.init.body))).toEqual({ version: 1, comment: "back to seed" });
  });
});
