// End-to-end tests of the portal against a real demo mesh (`warden up`), driven through
// Debian's Chromium by playwright-core. Plain Node ESM, no test framework:
//
//   WARDEN_BINARY=$PWD/build/debug/src/cli/warden node portal/e2e/portal.e2e.mjs
//
// Environment: WARDEN_BINARY (required), E2E_ARTIFACTS (screenshots; default
// /tmp/portal-e2e), CHROMIUM (default /usr/bin/chromium), E2E_KEEP_RUN_DIR=1 (keep the
// mesh's run directory and logs).
// Prints one line per scenario (PASS/FAIL and why); exit 0 only if every scenario passed.
// The mesh is always stopped (SIGINT, then SIGKILL after a bound), also on failure.

import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const meshFile = path.join(repo, "examples/budget/mesh.yaml");
const binary = process.env.WARDEN_BINARY;
const artifacts = process.env.E2E_ARTIFACTS || path.join(tmpdir(), "portal-e2e");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const AGENTS = [
  "budget-backend",
  "budget-report",
  "budget-approval",
  "employee-menus",
  "demo-agent",
  "google-budget-reader",
  "github-budget-reader",
];
// The administrator's controls on an agent's page (portal/src/agents/AgentActions.tsx).
const ACTION_BUTTONS = /^(Set risk|Set state|Edit tags|Isolate|Restore access)$/;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A bound raced against something else: unref'd, so a pending one does not keep Node
// running after everything is done.
const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());

class Failure extends Error {}
function check(cond, why) {
  if (!cond) throw new Failure(why);
}

/** Polls fn until it returns a truthy value; the last value or error explains a timeout. */
async function eventually(what, timeoutMs, fn, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Failure(`${what}: not within ${timeoutMs / 1000} s (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------
// The mesh

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({ host: "127.0.0.1", port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A multiple of 100 in 20000-31000 whose 90 ports are all free right now. */
async function freeBasePort() {
  const bases = [];
  for (let b = 20000; b <= 31000; b += 100) bases.push(b);
  // Start at a random base so parallel runs rarely race for the same one.
  const start = Math.floor(Math.random() * bases.length);
  for (let i = 0; i < bases.length; i++) {
    const base = bases[(start + i) % bases.length];
    let free = true;
    for (let p = base; p < base + 90 && free; p++) free = await portFree(p);
    if (free) return base;
  }
  throw new Error("no free base port (a multiple of 100 in 20000-31000 with 90 free ports)");
}

async function startMesh() {
  check(binary, "WARDEN_BINARY is not set (the warden executable)");
  const runDir = mkdtempSync("/tmp/wde2e-"); // short: Unix socket paths live under it
  const base = await freeBasePort();
  const child = spawn(binary, ["up", meshFile, "--run-dir", runDir, "--base-port", String(base)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const mesh = { child, runDir, base, output: [], exited: null, t0: Date.now() };
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve((mesh.exited = { code, signal }))));
  mesh.exitedPromise = exited;
  let pending = "";
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        mesh.output.push(line);
        const pw = /admin sign-in\s+user (\S+), password (\S+)/.exec(line);
        if (pw) [mesh.adminUser, mesh.adminPassword] = [pw[1], pw[2]];
        const portal = /^\s*portal\s+(https:\/\/\S+?)\/?(\s|$)/.exec(line);
        if (portal) mesh.portalUrl = portal[1];
        if (line.includes("mesh ready")) resolve();
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", (c) => mesh.output.push(...c.split("\n").filter(Boolean)));
    exited.then(({ code, signal }) => reject(new Error(`warden up exited (${code ?? signal}) before "mesh ready"`)));
  });
  const timeout = deadline(120_000).then(() => {
    throw new Error('warden up: no "mesh ready" within 120 s');
  });
  try {
    await Promise.race([ready, timeout]);
    check(mesh.adminPassword, "warden up printed no admin password");
    check(mesh.portalUrl, "warden up printed no portal URL (is portal/dist built?)");
    mesh.layout = JSON.parse(readFileSync(path.join(runDir, "mesh.json"), "utf8"));
    mesh.ca = readFileSync(path.join(runDir, "example.org", "bundle.pem"));
    mesh.apiPort = Number(new URL(mesh.portalUrl).port);
    mesh.startSeconds = (Date.now() - mesh.t0) / 1000;
  } catch (e) {
    e.message += `\n--- warden up output (last 30 lines) ---\n${mesh.output.slice(-30).join("\n")}`;
    await stopMesh(mesh);
    throw e;
  }
  return mesh;
}

async function stopMesh(mesh) {
  if (!mesh) return;
  const t0 = Date.now();
  if (!mesh.exited) {
    mesh.child.kill("SIGINT");
    // warden up gives each component 10 s before SIGKILL; leave it room, then force.
    const done = await Promise.race([mesh.exitedPromise, deadline(40_000).then(() => null)]);
    if (!done) {
      mesh.child.kill("SIGKILL");
      await Promise.race([mesh.exitedPromise, deadline(5_000)]);
    }
  }
  mesh.stopSeconds = (Date.now() - t0) / 1000;
  if (!process.env.E2E_KEEP_RUN_DIR) rmSync(mesh.runDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// The API, from Node: HTTPS verified against the mesh's own CA (the server's X509-SVID
// names DNS localhost; we connect to 127.0.0.1 and verify the name localhost).

function apiRequest(mesh, method, urlPath, { token, body } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: "127.0.0.1",
        servername: "localhost",
        port: mesh.apiPort,
        method,
        path: urlPath,
        ca: mesh.ca,
        headers: {
          accept: "application/json",
          ...(data ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c) => (text += c));
        res.on("end", () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, json, text, headers: res.headers });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on("error", reject);
    req.end(data);
  });
}

async function login(mesh, username, password) {
  const r = await apiRequest(mesh, "POST", "/api/v1/login", { body: { username, password } });
  check(r.status === 200 && r.json?.access_token, `POST /api/v1/login as ${username}: ${r.status} ${r.text}`);
  return r.json.access_token;
}

/** The live server certificate's SPKI pin, after Node verified it chains to the mesh CA. */
function serverSpkiPin(mesh) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: mesh.apiPort, servername: "localhost", ca: mesh.ca }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      // cert.pubkey is the bare EC point; Chromium pins the DER SubjectPublicKeyInfo.
      const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
      resolve(createHash("sha256").update(spki).digest("base64"));
    });
    s.once("error", reject);
  });
}

/** GET /call on a sample app: the app asks its own sidecar to call the target. */
function appCall(mesh, agent, target, method, p) {
  const appUrl = mesh.layout.agents?.[agent]?.app_url;
  if (!appUrl) throw new Failure(`mesh.json has no app_url for ${agent}`);
  const u = new URL(`/call?target=${encodeURIComponent(target)}&method=${method}&path=${encodeURIComponent(p)}`, appUrl);
  return new Promise((resolve, reject) => {
    const req = http.get(u, { timeout: 15_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c) => (text += c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`/call answered ${res.statusCode} ${text}`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("/call timed out")));
    req.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------
// The browser

let shotCounter = 0;
async function shot(page, name) {
  shotCounter += 1;
  const file = path.join(artifacts, `${String(shotCounter).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
}

/**
 * Opens portalPath signed out, follows "Sign in" to the server's login page, submits the
 * credentials and waits until the portal shows the session with the expected role.
 */
async function signIn(page, mesh, portalPath, username, password, role, label) {
  await page.goto(mesh.portalUrl + portalPath);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname === "/oauth2/authorize", { timeout: 15_000 });
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(password);
  await shot(page, `${label}-login-form`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname === portalPath.split("?")[0], { timeout: 15_000 });
  const roleBadge = page.getByTestId("session-role");
  await roleBadge.waitFor({ timeout: 15_000 });
  const shownRole = (await roleBadge.textContent())?.trim();
  check(shownRole === role, `${username} signed in, but the top bar shows role ${shownRole}, not ${role}`);
  const subject = (await page.getByTestId("session-subject").textContent()) ?? "";
  check(subject.includes(username), `the top bar names ${subject}, not ${username}`);
  check(!new URL(page.url()).search.includes("code="), "the authorization code stayed in the address bar");
}

async function agentNames(page) {
  const table = page.getByRole("table");
  await table.waitFor({ timeout: 15_000 });
  return (await table.getByRole("row").locator("td:first-child").getByRole("link").allTextContents()).map((s) => s.trim());
}

/** Waits for an agent's page to show its fields (so an absence check is not vacuous). */
async function openAgent(page, mesh, name) {
  await page.goto(`${mesh.portalUrl}/agents/${name}`);
  await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 15_000 });
  await page.getByRole("term").filter({ hasText: /^SPIFFE ID$/ }).waitFor({ timeout: 15_000 });
}

async function fieldValue(page, label) {
  return (await page.locator(`dl.fields dt:text-is("${label}") + dd`).textContent())?.trim();
}

// ---------------------------------------------------------------------------------------
// Scenarios

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
  return `viewer "auditor" sees no action on budget-report; PUT risk with its token: 403 ${put.json?.error ?? ""}`;
}

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

// ---------------------------------------------------------------------------------------

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
      if (real !== "allow") denials += 1;
    }
    check(denials >= 4, `the What If cases should include the denials of the seed matrix (${denials})`);
    await shot(page, "what-if");
    return `${WHAT_IF_CASES.length} requests, ${denials} of them denied: the page, the server's explain and the mesh agree`;
  } finally {
    await context.close();
  }
}

const scenarios = [
  ["admin signs in", adminSignsIn],
  ["viewer cannot mutate", viewerCannotMutate],
  ["quarantine in the UI shows in the live log", quarantineShowsInLiveLog],
  ["What If agrees with real calls", whatIfAgreesWithRealCalls],
];

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const results = [];
  let mesh;
  let browser;
  try {
    mesh = await startMesh();
    const pin = await serverSpkiPin(mesh);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        // Without these Chromium stalls on a closed network.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // The server's certificate is issued by the mesh's own CA, which the browser does
        // not trust. Rather than ignoring every certificate error, trust exactly the key
        // Node just verified against <run-dir>/example.org/bundle.pem.
        `--ignore-certificate-errors-spki-list=${pin}`,
      ],
    });
    for (const [name, run] of scenarios) {
      try {
        const why = await run({ browser, mesh });
        results.push([name, true, why]);
      } catch (e) {
        results.push([name, false, e instanceof Failure ? e.message : e?.stack ?? String(e)]);
      }
    }
  } catch (e) {
    results.push(["setup", false, e?.message ?? String(e)]);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopMesh(mesh);
  }
  if (mesh?.exited && mesh.exited.code !== 0 && mesh.exited.signal === null && results.every((r) => r[1])) {
    results.push(["mesh stop", false, `warden up exited with ${mesh.exited.code} on SIGINT`]);
  }
  for (const [name, ok, why] of results) console.log(`${ok ? "PASS" : "FAIL"} ${name}: ${why}`);
  if (mesh) console.log(`mesh started in ${mesh.startSeconds ?? "?"} s, stopped in ${mesh.stopSeconds ?? "?"} s (${JSON.stringify(mesh.exited)})`);
  console.log(`screenshots in ${artifacts}`);
  const passed = results.length >= scenarios.length && results.every((r) => r[1]);
  process.exitCode = passed ? 0 : 1;
}

await main();
