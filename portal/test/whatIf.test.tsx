import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
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
});
