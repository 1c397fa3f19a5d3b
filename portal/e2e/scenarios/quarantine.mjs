// Isolating an agent in the UI: its next call is denied, and the live log shows it.

import {
  check,
  eventually,
  apiRequest,
  login,
  appCall,
  shot,
  signIn,
  fieldValue,
} from "../harness.mjs";

async function quarantineShowsInLiveLog({ browser, mesh }) {
  const context = await browser.newContext();
  try {
    const logs = await context.newPage();
    // Each tab keeps its own session (sessionStorage), so each one signs in.
    await signIn(logs, mesh, "/logs", mesh.adminUser, mesh.adminPassword, "admin", "logs");
    await logs.getByText("Live", { exact: true }).waitFor({ timeout: 15_000 });

    const reportId = mesh.layout.agents?.["budget-report"]?.spiffe_id ?? "spiffe://example.org/budget-report";
    const baseline = await appCall(mesh, "budget-report", "budget-backend", "GET", "/budget/read");
    check(baseline.status === 200, `before isolating, budget-report -> budget-backend answered ${JSON.stringify(baseline)}`);

    // Start from an empty table: a deny row found later was streamed after the isolation.
    // The baseline call's two events (the caller's egress, the target's ingress) are shipped
    // by two sidecars at their own pace: wait for both, so neither lands after Clear.
    const baselineRows = logs.getByRole("row").filter({ hasText: reportId }).filter({ has: logs.getByText("allow", { exact: true }) });
    await eventually("the live log shows the baseline call from both sides", 10_000, async () => (await baselineRows.count()) >= 2);
    await logs.getByRole("button", { name: "Clear" }).click();
    check((await logs.getByRole("row").count()) === 0, "the live log still has rows after Clear");

    const detail = await context.newPage();
    await signIn(detail, mesh, "/agents/budget-report", mesh.adminUser, mesh.adminPassword, "admin", "detail");
    await detail.getByRole("button", { name: "Isolate", exact: true }).click();
    const isolateForm = detail.getByRole("form", { name: "Isolate" });
    await isolateForm.getByLabel(/Comment/).fill("e2e: isolate budget-report");
    await shot(detail, "isolate-form");
    await isolateForm.getByRole("button", { name: "Isolate" }).click();
    await eventually("the page shows budget-report quarantined", 10_000, async () => (await fieldValue(detail, "State")) === "quarantined");
    await shot(detail, "isolated");

    // Calls until one is refused (the change reaches the sidecars in well under a second).
    const denied = await eventually("a call from the isolated budget-report is refused", 15_000, async () => {
      const r = await appCall(mesh, "budget-report", "budget-backend", "GET", "/budget/read");
      return r.status !== 200 ? r : false;
    });
    await logs.bringToFront();
    // A row's text runs its cells together, so the decision is matched as its own element.
    const denyRow = logs.getByRole("row").filter({ hasText: reportId }).filter({ has: logs.getByText("deny", { exact: true }) });
    try {
      await eventually("the live log shows a deny row for budget-report", 10_000, async () => {
        // A few more calls in case the first refusals were shipped before the stream caught up.
        await appCall(mesh, "budget-report", "budget-backend", "GET", "/budget/read").catch(() => {});
        return (await denyRow.count()) > 0;
      }, 1000);
    } catch (e) {
      await shot(logs, "logs-no-deny");
      // What the control plane holds, to tell a portal fault from an audit one.
      const token = await login(mesh, mesh.adminUser, mesh.adminPassword);
      const recent = await apiRequest(mesh, "GET", "/api/v1/audit/events?decision=deny&limit=5", { token });
      e.message += `; the API's latest deny events: ${recent.text.slice(0, 1500)}`;
      throw e;
    }
    const rowText = (await denyRow.first().textContent())?.replace(/\s+/g, " ").trim();
    check(/agent_quarantined|handshake_refused/.test(rowText ?? ""), `the deny row gives another reason: ${rowText}`);
    await shot(logs, "logs-deny");

    // Again from an empty table: an allow row found later is a call after the restore.
    await logs.getByRole("button", { name: "Clear" }).click();
    await detail.bringToFront();
    await detail.getByRole("button", { name: "Restore access", exact: true }).click();
    const restoreForm = detail.getByRole("form", { name: "Restore access" });
    await restoreForm.getByLabel(/Comment/).fill("e2e: restore budget-report");
    await restoreForm.getByRole("button", { name: "Restore access" }).click();
    await eventually("the page shows budget-report enabled", 10_000, async () => (await fieldValue(detail, "State")) === "enabled");
    await shot(detail, "restored");
    const allowed = await eventually("a call from budget-report is allowed again", 15_000, async () => {
      const r = await appCall(mesh, "budget-report", "budget-backend", "GET", "/budget/read");
      return r.status === 200 ? r : false;
    });
    const allowRow = logs.getByRole("row").filter({ hasText: reportId }).filter({ has: logs.getByText("allow", { exact: true }) });
    await eventually("the live log shows the allowed call", 10_000, async () => (await allowRow.count()) > 0);
    await shot(logs, "logs-allow");
    return `isolated in the UI: /call got ${denied.status}, live log: "${rowText}"; restored: /call got ${allowed.status}`;
  } finally {
    await context.close();
  }
}

export const scenarios = [
  ["quarantine in the UI shows in the live log", quarantineShowsInLiveLog],
];
