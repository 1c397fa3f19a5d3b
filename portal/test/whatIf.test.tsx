import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LayerVerdict, TestCallAnswer } from "../src/api/policies";
import { user } from "../src/auth/session";
import { compareVerdicts } from "../src/policies/compareVerdicts";
import { WhatIfPage } from "../src/policies/WhatIfPage";
import { resolve } from "../src/shell/routes";
import { fakeApi } from "./fakeApi";

const agents = {
  agents: [
    { name: "budget-report", spiffe_id: "spiffe://example.org/budget-report" },
    { name: "budget-backend", spiffe_id: "spiffe://example.org/budget-backend" },
  ],
};

// Layers deliberately out of order: the page shows them in pipeline order.
const denied = {
  caller: "budget-report",
  method: "POST",
  path: "/budget/submit",
  layers: [
    { layer: "rbac", verdict: "deny", reason: "rule_denied", status: 403, rule: "budget-report-default-deny" },
    { layer: "transport", verdict: "allow", reason: "allowed" },
    { layer: "token", verdict: "skipped", detail: "no allow rule decided" },
    { layer: "risk", verdict: "allow", reason: "allowed" },
    { layer: "tags", verdict: "allow", reason: "allowed" },
  ],
  decision: "deny",
  layer: "rbac",
  reason: "rule_denied",
  status: 403,
  rule: "budget-report-default-deny",
  policy_version: "2026-11-24.1",
  governance_version: "3",
};

describe("What If", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("is routed to its page", () => {
    expect(resolve("/what-if")).toEqual({ page: "what-if" });
  });

  it("sends the explain request and shows each layer in pipeline order", async () => {
    const calls = fakeApi({ "/api/v1/agents": agents, "/api/v1/explain": denied });
    render(<WhatIfPage />);
    await screen.findAllByRole("option", { name: "budget-backend" });
    fireEvent.change(screen.getByLabelText("Caller"), { target: { value: "budget-report" } });
    fireEvent.change(screen.getByLabelText("Target"), { target: { value: "budget-backend" } });
    fireEvent.change(screen.getByLabelText("Method"), { target: { value: "POST" } });
    fireEvent.input(screen.getByLabelText("Path"), { target: { value: "/budget/submit" } });
    fireEvent.input(screen.getByLabelText(/roles/i), { target: { value: " writer, ,reader " } });
    fireEvent.click(screen.getByRole("button", { name: "Explain" }));

    expect(await screen.findByTestId("decision")).toHaveProperty("textContent", "deny");
    const post = calls.find((c) => c.url.pathname === "/api/v1/explain");
    expect(post?.method).toBe("POST");
    expect(JSON.parse(String(post?.init.body))).toEqual({
      caller: "budget-report",
      target: "budget-backend",
      method: "POST",
      path: "/budget/submit",
      roles: ["writer", "reader"],
    });

    const rows = Array.from(document.querySelectorAll("tr[data-testid^='layer-']")).map((r) => r.getAttribute("data-testid"));
    expect(rows).toEqual(["layer-transport", "layer-risk", "layer-tags", "layer-rbac", "layer-token"]);
    const rbac = screen.getByTestId("layer-rbac").textContent ?? "";
    expect(rbac).toContain("deny");
    expect(rbac).toContain("rule_denied");
    expect(rbac).toContain("budget-report-default-deny");
    expect(screen.getByTestId("layer-token").textContent).toContain("skipped");
    expect(screen.getByTestId("decision-layer").textContent).toBe("rbac");
    expect(screen.getByTestId("decision-status").textContent).toBe("403");
    expect(screen.getByTestId("decision-reason").textContent).toBe("rule_denied");
    expect(screen.getByTestId("decision-rule").textContent).toBe("budget-report-default-deny");
  });

  it("sends a free SPIFFE ID as caller and no roles when none are given", async () => {
    const calls = fakeApi({ "/api/v1/agents": agents, "/api/v1/explain": { ...denied, decision: "allow", layers: [] } });
    render(<WhatIfPage />);
    await screen.findAllByRole("option", { name: "budget-backend" });
    fireEvent.change(screen.getByLabelText("Caller"), { target: { value: "__other__" } });
    fireEvent.input(screen.getByLabelText("Caller SPIFFE ID"), { target: { value: "spiffe://gcp.example/reader" } });
    fireEvent.change(screen.getByLabelText("Target"), { target: { value: "budget-backend" } });
    fireEvent.click(screen.getByRole("button", { name: "Explain" }));
    await screen.findByTestId("decision");
    const body = JSON.parse(String(calls.find((c) => c.url.pathname === "/api/v1/explain")?.init.body));
    expect(body).toEqual({ caller: "spiffe://gcp.example/reader", target: "budget-backend", method: "GET", path: "/" });
  });

  it("shows the server's refusal with code, layer and reason", async () => {
    fakeApi({ "/api/v1/agents": agents }, (url) =>
      url.pathname === "/api/v1/explain"
        ? new Response(JSON.stringify({ error: "bad_request", layer: "control_plane", reason: "path: must start with /" }), {
            status: 400,
            headers: { "Content-Type": "application/json" },
          })
        : undefined,
    );
    render(<WhatIfPage />);
    await screen.findAllByRole("option", { name: "budget-backend" });
    fireEvent.change(screen.getByLabelText("Caller"), { target: { value: "budget-report" } });
    fireEvent.change(screen.getByLabelText("Target"), { target: { value: "budget-backend" } });
    fireEvent.click(screen.getByRole("button", { name: "Explain" }));
    const alert = await screen.findByRole("alert");
    await waitFor(() => expect(alert.textContent).toContain("400 bad_request"));
    expect(alert.textContent).toContain("layer control_plane");
    expect(alert.textContent).toContain("path: must start with /");
  });

  describe("real calls", () => {
    const real = {
      id: "0a1b",
      caller: "budget-report",
      caller_spiffe_id: "spiffe://example.org/budget-report",
      target: "budget-backend",
      target_spiffe_id: "spiffe://example.org/budget-backend",
      method: "POST",
      path: "/budget/submit",
      sent_unix: 1764000000,
      status: 403,
      latency_ms: 4.2,
      content_type: "application/json",
      body: '{"error":"rule_denied","layer":"rbac","request_id":"r-1","message":"a policy rule denies this request"}',
      decision: "deny",
      layer: "rbac",
      reason: "rule_denied",
      request_id: "r-1",
    };

    afterEach(() => {
      user.value = null;
    });

    for (const r of ["viewer", "developer"] as const) {
      it(`offers a ${r} no real call (the server would refuse it)`, async () => {
        user.value = { subject: `${r}-person`, method: "login", role: r };
        fakeApi({ "/api/v1/agents": agents });
        render(<WhatIfPage />);
        await screen.findAllByRole("option", { name: "budget-backend" });
        expect(screen.queryByRole("button", { name: "Send real call" })).toBeNull();
      });
    }

    it("lets an admin send the request for real and sets the answer beside What If's verdict", async () => {
      user.value = { subject: "admin", method: "login", role: "admin" };
      const calls = fakeApi({ "/api/v1/agents": agents, "/api/v1/explain": denied, "/api/v1/test-calls": real });
      render(<WhatIfPage />);
      await screen.findAllByRole("option", { name: "budget-backend" });
      fireEvent.change(screen.getByLabelText("Caller"), { target: { value: "budget-report" } });
      fireEvent.change(screen.getByLabelText("Target"), { target: { value: "budget-backend" } });
      fireEvent.change(screen.getByLabelText("Method"), { target: { value: "POST" } });
      fireEvent.input(screen.getByLabelText("Path"), { target: { value: "/budget/submit" } });
      fireEvent.click(screen.getByRole("button", { name: "Send real call" }));

      expect(await screen.findByTestId("real-decision")).toHaveProperty("textContent", "deny");
      const post = calls.find((c) => c.url.pathname === "/api/v1/test-calls");
      expect(post?.method).toBe("POST");
      expect(JSON.parse(String(post?.init.body))).toEqual({
        caller: "budget-report",
        target: "budget-backend",
        method: "POST",
        path: "/budget/submit",
      });
      expect(screen.getByTestId("real-status").textContent).toBe("403");
      expect(screen.getByTestId("real-layer").textContent).toBe("rbac");
      expect(screen.getByTestId("real-reason").textContent).toBe("rule_denied");
      await waitFor(() => expect(screen.getByTestId("real-comparison").textContent).toContain("What If and the mesh agree"));
      // The explanation is there too, for the same request.
      expect(screen.getByTestId("decision").textContent).toBe("deny");
    });

    it("shows why a real call could not be sent", async () => {
      user.value = { subject: "admin", method: "login", role: "admin" };
      fakeApi({ "/api/v1/agents": agents, "/api/v1/explain": denied }, (url) =>
        url.pathname === "/api/v1/test-calls"
          ? new Response(
              JSON.stringify({ error: "test_call_not_picked_up", layer: "control_plane", reason: "budget-report's sidecar did not pick the call up" }),
              { status: 504, headers: { "Content-Type": "application/json" } },
            )
          : undefined,
      );
      render(<WhatIfPage />);
      await screen.findAllByRole("option", { name: "budget-backend" });
      fireEvent.change(screen.getByLabelText("Caller"), { target: { value: "budget-report" } });
      fireEvent.change(screen.getByLabelText("Target"), { target: { value: "budget-backend" } });
      fireEvent.click(screen.getByRole("button", { name: "Send real call" }));
      const alert = await screen.findByRole("alert");
      await waitFor(() => expect(alert.textContent).toContain("504 test_call_not_picked_up"));
      expect(screen.queryByTestId("real-decision")).toBeNull();
    });
  });

  describe("compareVerdicts", () => {
    const base: { layers: LayerVerdict[] } = { layers: [] };
    const answer = (decision: "allow" | "deny", layer?: string, reason?: string): TestCallAnswer => ({
      id: "1",
      caller: "a",
      caller_spiffe_id: "",
      target: "b",
      target_spiffe_id: "",
      method: "GET",
      path: "/",
      sent_unix: 0,
      status: decision === "allow" ? 200 : 403,
      latency_ms: 1,
      body: "",
      decision,
      layer,
      reason,
    });

    it("agrees on the same verdict", () => {
      expect(compareVerdicts({ ...base, decision: "allow" }, answer("allow")).agree).toBe(true);
      expect(compareVerdicts({ ...base, decision: "deny", layer: "rbac", reason: "rule_denied" }, answer("deny", "rbac", "rule_denied")).agree).toBe(true);
    });

    it("reads the caller's handshake_refused as the target's peer_not_allowed", () => {
      const c = compareVerdicts({ ...base, decision: "deny", layer: "transport", reason: "peer_not_allowed" }, answer("deny", "transport", "handshake_refused"));
      expect(c.agree).toBe(true);
      expect(c.note).toContain("handshake");
    });

    it("differs when the layer or the reason differs", () => {
      const c = compareVerdicts({ ...base, decision: "allow" }, answer("deny", "token", "token_unavailable"));
      expect(c).toEqual({ agree: false, explained: "allow", real: "deny token/token_unavailable" });
      expect(compareVerdicts({ ...base, decision: "deny", layer: "rbac", reason: "rule_denied" }, answer("deny", "rbac", "no_matching_rule")).agree).toBe(false);
    });
  });
});
