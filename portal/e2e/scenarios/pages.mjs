// Every page renders from the live mesh without an error and without a CSP violation, and
// leaves a screenshot; the Overview's security scan finds a switched-off governance block
// and its one-click fix stores a new, validated version.

import { apiRequest, appCall, check, login, shot, signIn } from "../harness.mjs";

// Each page and what shows it rendered from real data (not just its heading).
const PAGES = [
  { path: "/", heading: "Overview", ready: (p) => p.getByTestId("connection-edges").getByRole("row").nth(1) },
  { path: "/agents", heading: "Agents", ready: (p) => p.getByRole("table").getByRole("row").nth(1) },
  { path: "/network-access", heading: "Network access", ready: (p) => p.getByTestId("allow-entry").first() },
  {
    path: "/policy-editor",
    heading: "Policy editor",
    // It opens with no target chosen: choose one, as a person would.
    act: (p) => p.locator("label").filter({ hasText: /^\s*Target/ }).locator("select").selectOption("budget-backend"),
    ready: (p) => p.getByTestId("live-version"),
  },
  { path: "/enforcement-layers", heading: "Enforcement layers", ready: (p) => p.getByTestId("layer-config").getByRole("row").nth(1) },
  { path: "/what-if", heading: "What If", ready: (p) => p.getByRole("button", { name: "Explain" }) },
  { path: "/logs", heading: "Logs", ready: (p) => p.getByText("Live", { exact: true }) },
  { path: "/system-health", heading: "System health", ready: (p) => p.getByTestId("sidecar-row").first() },
];

/** Console messages that mean the page broke: CSP refusals and uncaught errors. */
function watchConsole(page) {
  const problems = [];
  const where = () => new URL(page.url()).pathname;
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(`${where()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${where()}: uncaught: ${e.message}`));
  return problems;
}

async function everyPageRenders({ browser, mesh }) {
  // Traffic for the pages that draw it, whichever scenarios ran before.
  const call = await appCall(mesh, "budget-report", "budget-backend", "GET", "/budget/read");
  check(call.status === 200, `budget-report -> budget-backend answered ${JSON.stringify(call)}`);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    await signIn(page, mesh, "/agents", mesh.adminUser, mesh.adminPassword, "admin", "pages");
    for (const p of PAGES) {
      // Through the app's own navigation, as a person would.
      await page.getByRole("navigation").getByRole("link", { name: p.heading, exact: true }).click();
      await page.getByRole("heading", { level: 1, name: p.heading }).waitFor({ timeout: 15_000 });
      if (p.act) await p.act(page);
      await p.ready(page).waitFor({ timeout: 15_000 });
      const errors = await page.getByRole("main").getByRole("alert").allTextContents();
      check(errors.length === 0, `${p.path} shows an error: ${errors.join(" | ")}`);
      await shot(page, `page${p.path === "/" ? "-overview" : p.path.replaceAll("/", "-")}`);
    }
    check(problems.length === 0, `console errors: ${problems.slice(0, 5).join(" | ")}`);
    return `${PAGES.length} pages rendered with data, no console or CSP error`;
  } finally {
    await context.close();
  }
}

async function overviewShowsTrafficAndLayers({ browser, mesh }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    await signIn(page, mesh, "/", mesh.adminUser, mesh.adminPassword, "admin", "overview");
    // The earlier scenarios called budget-backend from budget-report: allowed and denied.
    const edge = page.getByTestId("connection-edges").getByRole("row").filter({ hasText: "budget-report" }).filter({ hasText: "budget-backend" });
    await edge.first().waitFor({ timeout: 15_000 });
    const cells = (await edge.first().getByRole("cell").allTextContents()).map((s) => s.trim());
    check(Number(cells[2]) >= 1, `budget-report -> budget-backend shows ${cells[2]} allowed calls`);
    await page.getByTestId("denial-chart").waitFor({ timeout: 15_000 });

    await page.goto(`${mesh.portalUrl}/enforcement-layers`);
    const rbac = page.getByTestId("stage-rbac");
    await rbac.waitFor({ timeout: 15_000 });
    const text = (await rbac.textContent()) ?? "";
    const denied = Number(/(\d+)\s*denied/.exec(text)?.[1] ?? -1);
    check(denied >= 1, `the RBAC stage shows ${denied} denials after the What If scenario's denied calls: ${text}`);
    await shot(page, "layers-counters");

    await page.goto(`${mesh.portalUrl}/system-health`);
    const row = page.getByTestId("sidecar-row").filter({ hasText: "budget-backend" });
    await row.waitFor({ timeout: 20_000 });
    const svid = (await row.getByTestId("svid-expiry").textContent())?.trim();
    check(/^in \d/.test(svid ?? ""), `budget-backend's SVID expiry reads "${svid}"`);
    return `graph edge budget-report -> budget-backend: ${cells[2]} allowed, ${cells[3]} denied; RBAC denials ${denied}; budget-backend SVID expires ${svid}`;
  } finally {
    await context.close();
  }
}

async function scanFixGoesThroughVersionedChange({ browser, mesh }) {
  const token = await login(mesh, mesh.adminUser, mesh.adminPassword);
  const target = "employee-menus";
  const before = await apiRequest(mesh, "GET", `/api/v1/governance/${target}`, { token });
  check(before.status === 200, `GET governance/${target}: ${before.status} ${before.text}`);
  const off = before.json.content.replace(/^enabled:.*$/m, "").trimEnd() + "\nenabled: false\n";
  const stored = await apiRequest(mesh, "PUT", `/api/v1/governance/${target}`, {
    token,
    ifMatch: before.headers.etag,
    body: { content: off, comment: "e2e: switch governance off for the scan" },
  });
  check(stored.status === 200 || stored.status === 201, `switching governance off: ${stored.status} ${stored.text}`);
  const offVersion = stored.json.version;

  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    await signIn(page, mesh, "/", mesh.adminUser, mesh.adminPassword, "admin", "scan");
    const finding = page.getByTestId("finding").filter({ hasText: `${target}: governance is switched off` });
    await finding.waitFor({ timeout: 15_000 });
    await finding.getByRole("button", { name: /Switch governance on/ }).click();
    const diff = finding.getByTestId("fix-diff");
    await diff.waitFor({ timeout: 15_000 });
    const diffText = (await diff.textContent()) ?? "";
    check(diffText.includes("- enabled: false") && diffText.includes("+ enabled: true"), `the fix's diff reads: ${diffText}`);
    await finding.getByText("The server's compiler accepts it.").waitFor({ timeout: 10_000 });
    await shot(page, "scan-fix-proposed");
    await finding.getByRole("button", { name: "Apply as a new version" }).click();
    await finding.getByText(/Applied as version \d+/).waitFor({ timeout: 15_000 });
    await shot(page, "scan-fix-applied");
  } finally {
    await context.close();
  }
  const after = await apiRequest(mesh, "GET", `/api/v1/governance/${target}`, { token });
  check(after.json?.version === offVersion + 1, `governance/${target} is at version ${after.json?.version}, expected ${offVersion + 1}`);
  check(/^enabled: true$/m.test(after.json.content), `the stored block does not switch governance on: ${after.json.content}`);
  check(/security scan/.test(after.json.comment ?? ""), `the version's comment is "${after.json.comment}"`);
  return `governance/${target} switched off (v${offVersion}); the scan's fix stored v${after.json.version} "${after.json.comment}"`;
}

export const scenarios = [
  ["every page renders", everyPageRenders],
  ["overview, layers and health show the mesh", overviewShowsTrafficAndLayers],
  ["a security-scan fix is a validated new version", scanFixGoesThroughVersionedChange],
];
