/** One verdict in a dry-run result: what the audit recorded, or a re-evaluation. */
export interface DryRunVerdict {
  decision: string;
  layer?: string;
  reason?: string;
  rule_id?: string;
}

/** One recorded request re-evaluated under the live and the candidate document. */
export interface DryRunResult {
  time_unix_us?: number;
  request_id?: string;
  caller_id?: string;
  caller_name?: string;
  method?: string;
  path?: string;
  recorded?: DryRunVerdict;
  live?: DryRunVerdict;
  candidate?: DryRunVerdict;
  changed?: boolean;
}

/** `POST /api/v1/{policies,governance}/{target}/dry-run` (branch h-s1). */
export interface DryRunAnswer {
  target?: string;
  live_version?: number | string | null;
  evaluated?: number;
  changed?: number;
  results?: DryRunResult[];
}

export interface DryRunSummary {
  evaluated: number;
  changed: number;
  /** "N of M recorded requests would change". */
  headline: string;
  changedRows: DryRunResult[];
  allRows: DryRunResult[];
}

function differs(a: DryRunVerdict | undefined, b: DryRunVerdict | undefined): boolean {
  return (a?.decision ?? "") !== (b?.decision ?? "") || (a?.layer ?? "") !== (b?.layer ?? "") || (a?.reason ?? "") !== (b?.reason ?? "");
}

/**
 * Whether the candidate changes this request's fate. The row's own flag wins; without one,
 * a different decision, layer or reason is a change (the rule id alone is not: renaming a
 * rule changes no request's fate).
 */
export function rowChanged(r: DryRunResult): boolean {
  return r.changed ?? differs(r.live, r.candidate);
}

/** The answer boiled down for the page. */
export function summariseDryRun(a: DryRunAnswer): DryRunSummary {
  const allRows = a.results ?? [];
  const changedRows = allRows.filter(rowChanged);
  const evaluated = a.evaluated ?? allRows.length;
  const changed = a.changed ?? changedRows.length;
  const noun = evaluated === 1 ? "recorded request" : "recorded requests";
  return { evaluated, changed, headline: `${changed} of ${evaluated} ${noun} would change`, changedRows, allRows };
}

/** `deny rbac/rule_denied (rule x)`, `allow (rule y)`; "—" when absent. */
export function verdictText(v: DryRunVerdict | undefined): string {
  if (!v || !v.decision) return "—";
  let s = v.decision;
  if (v.decision !== "allow" && (v.layer || v.reason)) s += ` ${v.layer ?? "?"}/${v.reason ?? "?"}`;
  if (v.rule_id) s += ` (rule ${v.rule_id})`;
  return s;
}

/** The caller as people know it: the agent's name, else its SPIFFE ID. */
export function callerText(r: DryRunResult): string {
  return r.caller_name || r.caller_id || "(unknown caller)";
}
