// End-to-end tests of the portal against a real demo mesh (`warden up`), driven through
// Debian's Chromium by playwright-core. Plain Node ESM, no test framework:
//
//   WARDEN_BINARY=$PWD/build/debug/src/cli/warden node portal/e2e/portal.e2e.mjs [name-filter]
//
// Environment: WARDEN_BINARY (required), E2E_ARTIFACTS (screenshots; default
// /tmp/portal-e2e), CHROMIUM (default /usr/bin/chromium), E2E_KEEP_RUN_DIR=1 (keep the
// mesh's run directory and logs), WARDEN_PORTAL_DIR (the built portal to serve; default
// this checkout's portal/dist).
// Every scenario module (scenarios/*.mjs) runs against one mesh, in the order below: later
// ones may rely on state the earlier ones leave (the viewer user, for instance).
// Prints one line per scenario (PASS/FAIL and why); exit 0 only if every scenario passed.
// The mesh is always stopped (SIGINT, then SIGKILL after a bound), also on failure.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";

import { Failure, artifacts, launchBrowser, serverSpkiPin, startMesh, stopMesh } from "./harness.mjs";
import * as access from "./scenarios/access.mjs";
import * as pages from "./scenarios/pages.mjs";
import * as policyEditor from "./scenarios/policy-editor.mjs";
import * as quarantine from "./scenarios/quarantine.mjs";
import * as whatIf from "./scenarios/what-if.mjs";

const filter = process.argv[2] ? new RegExp(process.argv[2], "i") : null;
const scenarios = [access, quarantine, whatIf, policyEditor, pages].flatMap((m) => m.scenarios).filter(([name]) => !filter || filter.test(name));

async function main() {
  if (scenarios.length === 0) {
    console.log(`FAIL setup: no scenario matches ${filter}`);
    process.exitCode = 1;
    return;
  }
  mkdirSync(artifacts, { recursive: true });
  // Screenshots are numbered per run: an earlier run's would interleave with this one's.
  for (const f of readdirSync(artifacts)) if (f.endsWith(".png")) rmSync(path.join(artifacts, f));
  const results = [];
  let mesh;
  let browser;
  try {
    mesh = await startMesh();
    const pin = await serverSpkiPin(mesh);
    browser = await launchBrowser(pin);
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
