import { cleanup, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseAllowList } from "../src/policies/allowList";
import { NetworkAccessPage } from "../src/policies/NetworkAccessPage";
import { resolve } from "../src/shell/routes";
import { fakeApi } from "./fakeApi";

const content = `version: "2026-11-24.1"
target: spiffe://example.org/budget-backend

allow:
  - id: spiffe://example.org/budget-report
  - { pattern: "spiffe://example.org/ns/*/sa/budget-approval" }
  - trust_domain: gcp.example

callers: []
`;

const routes = {
  "/api/v1/policies": {
    documents: [
      { kind: "policy", target: "budget-backend", version: 4, author: { subject: "dev-1", method: "login" }, time: 1700000000, comment: "gcp readers" },
    ],
  },
  "/api/v1/policies/budget-backend": { kind: "policy", target: "budget-backend", version: 4, content },
};

describe("Network access", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("is routed to its page", () => {
    expect(resolve("/network-access")).toEqual({ page: "network-access" });
  });

  it("parses the allow list's kinds and flags patterns and trust domains as broad", () => {
    expect(parseAllowList(content).entries).toEqual([
      { kind: "id", value: "spiffe://example.org/budget-report", broad: false },
      { kind: "pattern", value: "spiffe://example.org/ns/*/sa/budget-approval", broad: true },
      { kind: "trust_domain", value: "gcp.example", broad: true },
    ]);
    expect(parseAllowList("version: x\nallow: []\n").entries).toEqual([]);
    expect(() => parseAllowList("version: x\n")).toThrow(/no allow list/);
  });

  it("lists each target's entries with kind and a broad badge, and the version metadata", async () => {
    fakeApi(routes);
    render(<NetworkAccessPage />);
    await waitFor(() => expect(screen.getAllByTestId("allow-entry")).toHaveLength(3));
    const [id, pattern, domain] = screen.getAllByTestId("allow-entry").map((r) => r.textContent ?? "");
    expect(id).toContain("ID");
    expect(id).toContain("spiffe://example.org/budget-report");
    expect(id).toContain("exact");
    expect(id).not.toContain("broad");
    expect(pattern).toContain("pattern");
    expect(pattern).toContain("broad");
    expect(domain).toContain("trust domain");
    expect(domain).toContain("gcp.example");
    expect(domain).toContain("broad");
    const section = screen.getByTestId("target-budget-backend").textContent ?? "";
    expect(section).toContain("Version 4 by dev-1, 2023-11-14 22:13:20Z — gcp readers");
  });

  it("shows the server's refusal for the list", async () => {
    fakeApi({});
    render(<NetworkAccessPage />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("404 not_found");
  });
});
