import type { ExplainAnswer, TestCallAnswer } from "../api/policies";

/** A verdict as one line: `allow`, or `deny <layer>/<reason>`. */
export function verdictLine(v: { decision: string; layer?: string; reason?: string }): string {
  return v.decision === "deny" ? `deny ${v.layer ?? "?"}/${v.reason ?? "?"}` : v.decision;
}

export interface Comparison {
  agree: boolean;
  explained: string;
  real: string;
  note?: string;
}

/**
 * What If's verdict beside what the mesh did with the same request. A transport refusal
 * is named from two sides: the target refuses the caller (`peer_not_allowed`, what What If
 * explains), the caller's egress only sees the handshake fail (`handshake_refused`).
 */
export function compareVerdicts(explained: ExplainAnswer, real: TestCallAnswer): Comparison {
  const e = verdictLine(explained);
  const r = verdictLine(real);
  if (e === r) return { agree: true, explained: e, real: r };
  if (
    explained.decision === "deny" &&
    real.decision === "deny" &&
    explained.layer === "transport" &&
    real.layer === "transport" &&
    real.reason === "handshake_refused"
  ) {
    return {
      agree: true,
      explained: e,
      real: r,
      note: "the target refused the caller at the TLS handshake; the caller's sidecar sees only the refusal",
    };
  }
  return { agree: false, explained: e, real: r };
}
