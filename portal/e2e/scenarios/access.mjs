// Signing in as admin and as viewer; a viewer is shown no control and the API refuses it.

import {
  AGENTS,
  ACTION_BUTTONS,
  sleep,
  check,
  eventually,
  apiRequest,
  login,
  shot,
  signIn,
  agentNames,
  openAgent,
} from "../harness.mjs";

async function adminSignsIn({ browser, mesh }) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await signIn(page, mesh, "/agents", mesh.adminUser, mesh.adminPassword, "admin", "admin");
    const names = await eventually("the Agents page lists the 7 agents", 15_000, async () => {
      const n = await agentNames(page);
      return n.length === AGENTS.length ? n : false;
    });
    await shot(page, "admin-agents");
    const missing = AGENTS.filter((a) => !names.includes(a));
    const extra = names.filter((a) => !AGENTS.includes(a));
    check(missing.length === 0 && extra.length === 0, `agents listed: ${names.join(", ")}; missing ${missing}; unexpected ${extra}`);
    // The admin sees the actions on an agent's page: the control for the viewer scenario,
    // whose check is that exactly these are absent.
    await page.getByRole("link", { name: "budget-report", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "budget-report" }).waitFor({ timeout: 15_000 });
    const buttons = page.getByRole("main").getByRole("button", { name: ACTION_BUTTONS });
    await buttons.first().waitFor({ timeout: 15_000 });
    check((await buttons.count()) === 5, `the admin sees ${await buttons.count()} of the 5 action buttons`);
    await shot(page, "admin-agent-detail");
    return `admin signed in through /oauth2/authorize; Agents lists ${names.length} agents; actions shown on budget-report`;
  } finally {
    await context.close();
  }
}

async function viewerCannotMutate({ browser, mesh }) {
  const adminToken = await login(mesh, mesh.adminUser, mesh.adminPassword);
  const created = await apiRequest(mesh, "POST", "/api/v1/users", { token: adminToken, body: { username: "auditor", role: "viewer" } });
  check(created.status === 201 && created.json?.password, `POST /api/v1/users: ${created.status} ${created.text}`);
  check(created.json.role === "viewer", `the user was created with role ${created.json.role}`);
  const password = created.json.password;
  // Later scenarios sign in as this viewer too.
  mesh.viewer = { username: "auditor", password };

  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await signIn(page, mesh, "/agents", "auditor", password, "viewer", "viewer");
    await openAgent(page, mesh, "budget-report");
    // The page has loaded its fields; give the actions the same chance to render they get for the admin.
    await page.getByRole("term").filter({ hasText: /^Revision$/ }).waitFor({ timeout: 15_000 });
    await sleep(500);
    await shot(page, "viewer-agent-detail");
    const main = page.getByRole("main");
    const actionButtons = await main.getByRole("button", { name: ACTION_BUTTONS }).count();
    check(actionButtons === 0, `the viewer sees ${actionButtons} action button(s) on budget-report`);
    const controls = await main.locator("form, textarea, select, input, button").count();
    check(controls === 0, `the viewer's agent page has ${controls} form control(s)`);

    // The Policy editor shows a viewer the live text and the history, and nothing to change them with.
    await page.goto(`${mesh.portalUrl}/policy-editor?kind=policy&target=budget-backend`);
    await main.getByTestId("yaml-readonly").waitFor({ timeout: 15_000 });
    await main.getByTestId("history").getByRole("button", { name: "View" }).first().waitFor({ timeout: 15_000 });
    await shot(page, "viewer-policy-editor");
    const editors = await main.locator("textarea").count();
    const writeButtons = await main.getByRole("button", { name: /^(Apply|Dry run|Discard changes|Roll back|Confirm rollback)/ }).count();
    check(editors === 0 && writeButtons === 0, `the viewer's Policy editor has ${editors} textarea(s) and ${writeButtons} write button(s)`);
  } finally {
    await context.close();
  }

  const before = await apiRequest(mesh, "GET", "/api/v1/agents/budget-report", { token: adminToken });
  const viewerToken = await login(mesh, "auditor", password);
  const put = await apiRequest(mesh, "PUT", "/api/v1/agents/budget-report/risk", {
    token: viewerToken,
    body: { risk: "high", comment: "e2e: a viewer must not change this" },
  });
  check(put.status === 403, `the viewer's PUT .../budget-report/risk answered ${put.status} ${put.text}, not 403`);
  const after = await apiRequest(mesh, "GET", "/api/v1/agents/budget-report", { token: adminToken });
  check(after.json?.risk === before.json?.risk && after.json?.revision === before.json?.revision, "budget-report changed after the refused PUT");
  return `viewer "auditor" sees no action on budget-report and no editor in the Policy editor; PUT risk with its token: 403 ${put.json?.error ?? ""}`;
}

export const scenarios = [
  ["admin signs in", adminSignsIn],
  ["viewer cannot mutate", viewerCannotMutate],
];
