// The Policy editor against the mesh: an error is shown on its line, a real change is
// dry-run against recorded traffic, applied, enforced, and rolled back.

import { check, eventually, appCall, shot, signIn, Failure } from "../harness.mjs";

const CALLER = "budget-report";
const TARGET = "budget-backend";
const RULE = "report-read"; // budget-report's GET /budget/read (examples/budget/policies/budget-backend.yaml)

/** What the mesh did with a real call: "allow" or "deny <layer>/<error>". */
async function readVerdict(mesh) {
  const a = await appCall(mesh, CALLER, TARGET, "GET", "/budget/read");
  if (a.status >= 200 && a.status < 300) return "allow";
  return `deny ${a.response?.layer}/${a.response?.error}`;
}

const select = (page, label) => page.locator("label").filter({ hasText: new RegExp(`^\\s*${label}`) }).first().locator("select");
const validationState = (page) => page.getByTestId("validation").getAttribute("data-state");

async function liveVersion(page) {
  const text = (await page.getByTestId("live-version").textContent()) ?? "";
  const m = /Live version (\d+)/.exec(text);
  check(m, `no live version shown (${text})`);
  return Number(m[1]);
}

async function editsAppliesAndRollsBack({ browser, mesh }) {
  // Recorded traffic for the dry run: the call the change is about, allowed today.
  for (let i = 0; i < 3; i++) {
    const v = await readVerdict(mesh);
    check(v === "allow", `before any edit, ${CALLER} -> ${TARGET} GET /budget/read is ${v}, not allow`);
  }
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await signIn(page, mesh, "/policy-editor", mesh.adminUser, mesh.adminPassword, "admin", "editor");
    await select(page, "Document").selectOption("policy");
    await select(page, "Target").selectOption(TARGET);
    const editor = page.getByLabel(`${TARGET} policy (editing)`);
    await editor.waitFor({ timeout: 15_000 });
    const loaded = await liveVersion(page);
    const live = await editor.inputValue();
    const lines = live.split("\n");
    const ruleLine = lines.findIndex((l) => l.includes(`id: ${RULE},`)) + 1;
    check(ruleLine > 0 && lines[ruleLine - 1].includes("methods: [GET]") && lines[ruleLine - 1].includes("action: allow"),
      `the live policy has no one-line rule ${RULE} with methods [GET] and action allow`);
    await shot(page, "editor-loaded");

    // 1. An error: a method that does not exist. Shown with its line; Apply stays disabled.
    const broken = lines.map((l, i) => (i === ruleLine - 1 ? l.replace("methods: [GET]", "methods: [FETCH]") : l)).join("\n");
    await editor.fill(broken);
    await eventually("the editor shows the error", 10_000, async () => (await validationState(page)) === "invalid");
    const errorText = (await page.getByTestId("validation-error").first().textContent()) ?? "";
    check(errorText.includes(`line ${ruleLine}`) && /methods\[0\]/.test(errorText) && errorText.includes("FETCH"),
      `the inline error does not name line ${ruleLine}, the methods field and FETCH: ${errorText}`);
    const gutterClass = await page.locator(`.yaml-gutter [data-line="${ruleLine}"]`).getAttribute("class");
    check(gutterClass === "gutter-error", `gutter line ${ruleLine} is not marked (class ${gutterClass})`);
    const apply = page.getByRole("button", { name: "Apply…" });
    check(await apply.isDisabled(), "Apply is enabled for an invalid text");
    await shot(page, "editor-invalid");

    // 2. A real change: without the rule that admits the recorded call, the caller's
    // default-deny rule decides it. (Turning it into a deny rule is refused: roles are
    // only for allow rules.)
    const candidate = lines.filter((_, i) => i !== ruleLine - 1).join("\n");
    await editor.fill(candidate);
    await eventually("the editor calls the change valid", 10_000, async () => (await validationState(page)) === "valid");
    check(!(await apply.isDisabled()), "Apply is disabled for a valid change");
    const diff = (await page.getByTestId("diff").textContent()) ?? "";
    check(diff.includes("+0") && diff.includes("−1") && diff.includes(`id: ${RULE},`), `the diff against live is not the one line removed: ${diff.slice(0, 200)}`);
    await shot(page, "editor-valid-diff");

    // 3. Dry run: the recorded call would change. Sidecars ship audit events in batches,
    // so the traffic may take a few seconds to be recorded.
    let dryRunProblem = null;
    let dryRunSummary = null;
    try {
      const summary = await eventually("the dry run names a changed request of " + CALLER, 30_000, async () => {
        const [response] = await Promise.all([
          page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/dry-run"), { timeout: 15_000 }),
          page.getByRole("button", { name: "Dry run" }).click(),
        ]);
        // A missing route is not going to appear: stop asking.
        if (response.status() === 404) return { missing: true };
        if (!response.ok()) throw new Failure(`dry run answered ${response.status()} ${await response.text()}`);
        const text = (await page.getByTestId("dry-run-summary").textContent()) ?? "";
        const m = /(\d+) of (\d+) recorded requests? would change/.exec(text);
        if (!m || Number(m[1]) < 1) return false;
        const rows = await page
          .getByTestId("dry-run-row")
          .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.replace(/\s+/g, " ").trim()).join(" | ")));
        const row = rows.find((r) => r.includes(CALLER) && r.includes("GET /budget/read"));
        return row ? `${m[0]}; e.g. ${row}` : false;
      });
      await shot(page, summary.missing ? "editor-dry-run-missing" : "editor-dry-run");
      if (summary.missing) dryRunProblem = "dry-run endpoint missing (404)";
      else dryRunSummary = summary;
    } catch (e) {
      dryRunProblem = e.message;
      await shot(page, "editor-dry-run-failed");
    }

    // 4. Apply with a comment; the mesh enforces it.
    await apply.click();
    await page.getByLabel(/Comment/).fill(`e2e: deny ${CALLER} reads`);
    await page.getByRole("button", { name: `Apply as version ${loaded + 1}` }).click();
    await eventually("the editor shows the applied version", 15_000, async () => (await liveVersion(page)) === loaded + 1);
    await shot(page, "editor-applied");
    await eventually(`${CALLER}'s read is denied after Apply`, 30_000, async () => {
      const v = await readVerdict(mesh);
      if (!v.startsWith("deny")) throw new Error(`still ${v}`);
      return v;
    });

    // 5. History: roll back to the version loaded; the call is allowed again.
    const row = page.getByTestId(`history-v${loaded}`);
    await row.waitFor({ timeout: 15_000 });
    await row.getByRole("button", { name: `Roll back to v${loaded}` }).click();
    await page.getByRole("form", { name: `Roll back to version ${loaded}` }).waitFor({ timeout: 10_000 });
    await page.getByLabel(/Comment/).fill("e2e: restore reads");
    await shot(page, "editor-rollback-confirm");
    await page.getByRole("button", { name: "Confirm rollback" }).click();
    await eventually("the editor shows the rolled-back version", 15_000, async () => (await liveVersion(page)) === loaded + 2);
    const restored = await editor.inputValue();
    check(restored === live, "after the rollback the editor does not hold the version loaded at first");
    const action = (await page.getByTestId(`history-v${loaded + 2}`).textContent()) ?? "";
    check(action.includes("restore") && action.includes(`from v${loaded}`), `history v${loaded + 2} is not a restore from v${loaded}: ${action}`);
    await shot(page, "editor-rolled-back");
    const back = await eventually(`${CALLER}'s read is allowed after the rollback`, 30_000, async () => {
      const v = await readVerdict(mesh);
      if (v !== "allow") throw new Error(`still ${v}`);
      return v;
    });
    const done = `v${loaded}: error on line ${ruleLine} shown, Apply disabled; v${loaded + 1} applied (read denied); rolled back as v${loaded + 2} (read ${back})`;
    if (dryRunProblem) throw new Failure(`${done}; but the dry run failed: ${dryRunProblem}`);
    return `${done}; dry run: ${dryRunSummary}`;
  } finally {
    await context.close();
  }
}

export const scenarios = [["Policy editor: error, dry run, apply, rollback", editsAppliesAndRollsBack]];
