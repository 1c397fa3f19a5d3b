import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AgentDetail } from "../src/agents/AgentDetail";
import type { Role } from "../src/auth/roles";
import { user } from "../src/auth/session";
import { fakeApi } from "./fakeApi";

const agent = {
  name: "budget-report",
  spiffe_id: "spiffe://example.org/budget-report",
  state: "enabled",
  risk: "low",
  tags: { team: "finance" },
  roles: { "budget-api": ["reader"] },
  revision: 1,
  updated: 1700000000,
};

const routes = {
  "/api/v1/agents/budget-report": agent,
  "/api/v1/agents/budget-report/history": { agent: "budget-report", history: [] },
  "/api/v1/audit/events": { events: [], next_after: null },
};

function signInAs(role: Role) {
  user.value = { subject: `${role}-person`, method: "login", role };
}

const mutatingLabels = [/set risk/i, /set state/i, /edit tags/i, /isolate/i, /restore access/i];

describe("AgentDetail role gating", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    user.value = null;
  });

  for (const role of ["viewer", "developer"] as const) {
    it(`shows a ${role} no control that would change the agent`, async () => {
      signInAs(role);
      fakeApi(routes);
      render(<AgentDetail name="budget-report" />);
      await screen.findByText("spiffe://example.org/budget-report");
      for (const label of mutatingLabels) expect(screen.queryByRole("button", { name: label })).toBeNull();
      expect(screen.queryAllByRole("button")).toEqual([]);
      expect(document.querySelector("form, textarea, select")).toBeNull();
    });
  }

  it("gives an admin every action, each asking for a comment", async () => {
    signInAs("admin");
    fakeApi(routes);
    render(<AgentDetail name="budget-report" />);
    await screen.findByText("spiffe://example.org/budget-report");
    for (const label of mutatingLabels) expect(screen.getByRole("button", { name: label })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: /isolate/i }));
    expect(screen.getByLabelText(/comment/i)).toBeTruthy();
  });

  it("shows the server's refusal with its code, layer and reason", async () => {
    signInAs("admin");
    const calls = fakeApi(routes, (url, init) =>
      url.pathname.endsWith("/risk") && init.method === "PUT"
        ? new Response(JSON.stringify({ error: "invalid_request", layer: "control_plane", reason: "risk: expected one of none, low" }), {
            status: 400,
            headers: { "Content-Type": "application/json" },
          })
        : undefined,
    );
    render(<AgentDetail name="budget-report" />);
    await screen.findByText("spiffe://example.org/budget-report");
    fireEvent.click(screen.getByRole("button", { name: /set risk/i }));
    fireEvent.input(screen.getByLabelText(/comment/i), { target: { value: "incident 42" } });
    fireEvent.submit(screen.getByRole("form", { name: /set risk/i }));
    const alert = await screen.findByText(/risk: expected one of none, low/);
    expect(alert.closest(".error-box")?.textContent).toContain("400 invalid_request");
    expect(alert.closest(".error-box")?.textContent).toContain("control_plane");
    const put = calls.find((c) => c.method === "PUT");
    expect(JSON.parse(String(put?.init.body))).toEqual({ risk: "low", comment: "incident 42" });
  });

  it("sends the ETag it read when editing tags", async () => {
    signInAs("admin");
    const calls = fakeApi(routes, (url, init) =>
      url.pathname.endsWith("/tags") ? new Response(JSON.stringify(agent), { status: 200, headers: { "Content-Type": "application/json" } }) : (void init, undefined),
    );
    render(<AgentDetail name="budget-report" />);
    await screen.findByText("spiffe://example.org/budget-report");
    fireEvent.click(screen.getByRole("button", { name: /edit tags/i }));
    fireEvent.input(screen.getByLabelText(/tags, one/i), { target: { value: "team=finance\nenv=prod" } });
    fireEvent.input(screen.getByLabelText(/comment/i), { target: { value: "label prod" } });
    fireEvent.submit(screen.getByRole("form", { name: /edit tags/i }));
    await waitFor(() => expect(calls.some((c) => c.url.pathname.endsWith("/tags"))).toBe(true));
    const put = calls.find((c) => c.url.pathname.endsWith("/tags"))!;
    expect((put.init.headers as Record<string, string>)["If-Match"]).toBe('"agent-x-v1"');
    expect(JSON.parse(String(put.init.body))).toEqual({ tags: { team: "finance", env: "prod" }, comment: "label prod" });
  });
});
