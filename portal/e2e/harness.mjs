// The portal's end-to-end harness: a real demo mesh (`warden up`), the API from Node,
// and the browser (Debian's Chromium through playwright-core). Scenarios live in
// scenarios/*.mjs and are run, in order, by portal.e2e.mjs against one mesh.

import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
export const artifacts = process.env.E2E_ARTIFACTS || path.join(tmpdir(), "portal-e2e");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

export const AGENTS = [
  "budget-backend",
  "budget-report",
  "budget-approval",
  "employee-menus",
  "demo-agent",
  "google-budget-reader",
  "github-budget-reader",
];
// The administrator's controls on an agent's page (portal/src/agents/AgentActions.tsx).
export const ACTION_BUTTONS = /^(Set risk|Set state|Edit tags|Isolate|Restore access)$/;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A bound raced against something else: unref'd, so a pending one does not keep Node
// running after everything is done.
export const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());

export class Failure extends Error {}
export function check(cond, why) {
  if (!cond) throw new Failure(why);
}

/** Polls fn until it returns a truthy value; the last value or error explains a timeout. */
export async function eventually(what, timeoutMs, fn, intervalMs = 250) {
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

export async function startMesh() {
  check(binary, "WARDEN_BINARY is not set (the warden executable)");
  const runDir = mkdtempSync("/tmp/wde2e-"); // short: Unix socket paths live under it
  const base = await freeBasePort();
  // The portal this checkout built: the binary's default is the dist of the tree it was
  // compiled from, which need not be this one (a worktree, a prebuilt binary).
  const portalDir = process.env.WARDEN_PORTAL_DIR || path.join(repo, "portal/dist");
  const args = ["up", meshFile, "--run-dir", runDir, "--base-port", String(base), "--portal-dir", portalDir];
  const child = spawn(binary, args, {
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

export async function stopMesh(mesh) {
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

export function apiRequest(mesh, method, urlPath, { token, body, ifMatch } = {}) {
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
          ...(ifMatch ? { "if-match": ifMatch } : {}),
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

export async function login(mesh, username, password) {
  const r = await apiRequest(mesh, "POST", "/api/v1/login", { body: { username, password } });
  check(r.status === 200 && r.json?.access_token, `POST /api/v1/login as ${username}: ${r.status} ${r.text}`);
  return r.json.access_token;
}

/** The live server certificate's SPKI pin, after Node verified it chains to the mesh CA. */
export function serverSpkiPin(mesh) {
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
export function appCall(mesh, agent, target, method, p) {
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
export async function shot(page, name) {
  shotCounter += 1;
  const file = path.join(artifacts, `${String(shotCounter).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
}

/**
 * Opens portalPath signed out, follows "Sign in" to the server's login page, submits the
 * credentials and waits until the portal shows the session with the expected role.
 */
export async function signIn(page, mesh, portalPath, username, password, role, label) {
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

export async function agentNames(page) {
  const table = page.getByRole("table");
  await table.waitFor({ timeout: 15_000 });
  return (await table.getByRole("row").locator("td:first-child").getByRole("link").allTextContents()).map((s) => s.trim());
}

/** Waits for an agent's page to show its fields (so an absence check is not vacuous). */
export async function openAgent(page, mesh, name) {
  await page.goto(`${mesh.portalUrl}/agents/${name}`);
  await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 15_000 });
  await page.getByRole("term").filter({ hasText: /^SPIFFE ID$/ }).waitFor({ timeout: 15_000 });
}

export async function fieldValue(page, label) {
  return (await page.locator(`dl.fields dt:text-is("${label}") + dd`).textContent())?.trim();
}

/** Chromium, headless, trusting exactly the server key `pin` (SPKI SHA-256, base64). */
export function launchBrowser(pin) {
  return chromium.launch({
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
}
