import { describe, expect, it } from "vitest";
import { can } from "../src/auth/roles";

describe("can", () => {
  it("follows the control plane's role table", () => {
    expect(can("admin", "agents.write")).toBe(true);
    expect(can("developer", "agents.write")).toBe(false);
    expect(can("developer", "policies.write")).toBe(true);
    expect(can("developer", "governance.write")).toBe(false);
    expect(can("viewer", "policies.write")).toBe(false);
    expect(can("viewer", "read")).toBe(true);
    expect(can("viewer", "explain")).toBe(true);
  });

  it("allows nothing without a known role", () => {
    expect(can(null, "read")).toBe(false);
    expect(can("sidecar" as never, "read")).toBe(false);
  });
});
