// What If against the mesh: the page, the server's explain, real calls made by the test and
// real calls sent from the page (the caller's own sidecar, POST /api/v1/test-calls) agree.

import {
  check,
  eventually,
  appCall,
  shot,
  signIn,
} from "../harness.mjs";

// What If must agree with what the mesh really does. A real call's transport refusal is
// seen by the caller's egress as `handshake_refused`; the target (and so What If) names
// the cause, `peer_not_allowed`.
const WHAT_IF_CASES = [
  { caller: "budget-report", target: "budget-backend", method: "GET", path: "/budget/read", roles: "Budget.Read" },
  { caller: "budget-report", target: "budget-backend", method: "POST", path: "/budget/submit", roles: "Budget.Read" },
  { caller: "budget-approval", target: "budget-backend", method: "POST", path: "/budget/submit", roles: "Budget.Read, Budget.Submit" },
  { caller: "budget-approval", target: "budget-backend", method: "DELETE", path: "/budget/admin", roles: "Budget.Read, Budget.Submit" },
  { caller: "employee-menus", target: "budget-backend", method: "GET", path: "/budget/read", roles: "Budget.Read" },
  { caller: "employee-menus", target: "budget-approval", method: "GET", path: "/a2a/status", roles: "" },
  { caller: "budget-report", target: "employee-menus", method: "GET", path: "/a2a/status", roles: "" },
];

function realVerdict(answer) {
  const status = answer.status;
  if (status >= 200 && status < 300) return "allow";
  const r = answer.response ?? {};
  const reason = r.layer === "transport" && r.error === "handshake_refused" ? "peer_not_allowed" : r.error;
  return `deny ${r.layer}/${reason}`;
}

async function whatIfAgreesWithRealCalls({ browser, mesh }) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await signIn(page, mesh, "/what-if", "admin", mesh.adminPassword, "admin", "whatif");
    let denials = 0;
    let realCalls = 0;
    for (const c of WHAT_IF_CASES) {
      const real = realVerdict(await appCall(mesh, c.caller, c.target, c.method, c.path));
      // A <select> inside its <label> takes the options' text into the label's, so find
      // the label by how it starts.
      const select = (name) => page.locator("form label").filter({ hasText: new RegExp(`^\\s*${name}`) }).first().locator("select");
      await select("Caller").selectOption(c.caller);
      await select("Target").selectOption(c.target);
      await select("Method").selectOption(c.method);
      await page.getByLabel("Path").fill(c.path);
      await page.getByLabel("Roles (optional, comma-separated)").fill(c.roles);
      // This request's own answer (two cases in a row may share a verdict, so the page
      // alone could show the previous one): what the server said, then that it is shown.
      const [response] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/explain", { timeout: 15_000 }),
        page.getByRole("button", { name: "Explain" }).click(),
      ]);
      const a = await response.json();
      const explained = a.decision === "deny" ? `deny ${a.layer}/${a.reason}` : a.decision;
      check(explained === real, `${c.caller} -> ${c.target} ${c.method} ${c.path}: the server's explain says ${explained}, the mesh says ${real}`);
      const decision = page.getByTestId("decision");
      await decision.waitFor({ timeout: 15_000 });
      await eventually(`What If answers ${c.caller} -> ${c.target} ${c.method} ${c.path}`, 10_000, async () => {
        const d = (await decision.textContent())?.trim();
        const said =
          d === "deny"
            ? `deny ${(await page.getByTestId("decision-layer").textContent())?.trim()}/${(await page.getByTestId("decision-reason").textContent())?.trim()}`
            : d;
        if (said !== real) throw new Error(`What If says ${said}, the mesh says ${real}`);
        return true;
      });
      // The page's own real call: the caller's sidecar sends the same request through the
      // mesh (POST /api/v1/test-calls), and the page sets its answer beside the verdict.
      const [sent] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/test-calls", { timeout: 20_000 }),
        page.getByRole("button", { name: "Send real call" }).click(),
      ]);
      const t = await sent.json();
      check(sent.status() === 200, `test call ${c.caller} -> ${c.target} ${c.method} ${c.path}: ${sent.status()} ${JSON.stringify(t)}`);
      const viaSidecar = realVerdict({ status: t.status, response: t.decision === "deny" ? { layer: t.layer, error: t.reason } : {} });
      check(viaSidecar === real, `${c.caller} -> ${c.target} ${c.method} ${c.path}: the test call says ${viaSidecar}, the mesh says ${real}`);
      await eventually(`the page compares the real call for ${c.caller} -> ${c.target} ${c.method} ${c.path}`, 10_000, async () => {
        const text = (await page.getByTestId("real-comparison").textContent()) ?? "";
        if (!text.includes("What If and the mesh agree")) throw new Error(`the page says: ${text}`);
        return true;
      });
      realCalls += 1;
      if (real !== "allow") denials += 1;
    }
    check(denials >= 4, `the What If cases should include the denials of the seed matrix (${denials})`);
    await shot(page, "what-if");
    return `${WHAT_IF_CASES.length} requests, ${denials} of them denied: the page, the server's explain, the mesh and ${realCalls} real calls sent from the page agree`;
  } finally {
    await context.close();
  }
}

export const scenarios = [
  ["What If agrees with real calls", whatIfAgreesWithRealCalls],
];
