import { useState } from "preact/hooks";
import { listAgents } from "../api/agents";
import { explain, testCall, type ExplainAnswer, type LayerVerdict, type TestCallAnswer } from "../api/policies";
import { can } from "../auth/roles";
import { role } from "../auth/session";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { compareVerdicts } from "./compareVerdicts";
import { tokenFacts, type TokenFacts } from "./tokenClaims";

export const pipeline = ["transport", "risk", "tags", "rbac", "token"] as const;
const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const OTHER = "__other__";

/** The layers in pipeline order; a layer the portal does not know (e.g. `proxy`) goes last. */
export function inPipelineOrder(layers: LayerVerdict[]): LayerVerdict[] {
  const rank = (l: LayerVerdict) => {
    const i = (pipeline as readonly string[]).indexOf(l.layer);
    return i < 0 ? pipeline.length : i;
  };
  return layers.map((l, i) => ({ l, i })).sort((a, b) => rank(a.l) - rank(b.l) || a.i - b.i).map((x) => x.l);
}

export function parseRoles(text: string): string[] {
  return text
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r !== "");
}

function verdictClass(v: string): string {
  return v === "allow" ? "decision-allow" : v === "deny" ? "decision-deny" : `verdict-${v}`;
}

function LayerRow({ v }: { v: LayerVerdict }) {
  return (
    <tr data-testid={`layer-${v.layer}`}>
      <td>{v.layer}</td>
      <td>
        <span class={`pill ${verdictClass(v.verdict)}`}>{v.verdict}</span>
      </td>
      <td class="mono">{v.reason}</td>
      <td>{v.status}</td>
      <td class="mono">{v.rule}</td>
      <td>
        {v.detail}
        {v.required_roles && <div class="muted">required roles: {v.required_roles.length ? v.required_roles.join(", ") : "(none)"}</div>}
        {v.missing_roles && v.missing_roles.length > 0 && <div class="error">missing roles: {v.missing_roles.join(", ")}</div>}
        {v.required_claims && Object.keys(v.required_claims).length > 0 && (
          <div class="muted">
            required claims:{" "}
            {Object.entries(v.required_claims)
              .map(([k, c]) => `${k}=${typeof c === "string" ? c : JSON.stringify(c)}`)
              .join(", ")}
          </div>
        )}
      </td>
    </tr>
  );
}

function Answer({ a }: { a: ExplainAnswer }) {
  return (
    <section aria-label="Explanation">
      <h2>
        Decision: <span class={`pill ${verdictClass(a.decision)}`} data-testid="decision">{a.decision}</span>
      </h2>
      <dl class="fields">
        {a.decision === "deny" && (
          <>
            <dt>Layer</dt>
            <dd data-testid="decision-layer">{a.layer}</dd>
            <dt>Status</dt>
            <dd data-testid="decision-status">{a.status}</dd>
            <dt>Reason</dt>
            <dd class="mono" data-testid="decision-reason">{a.reason}</dd>
          </>
        )}
        <dt>Deciding rule</dt>
        <dd class="mono" data-testid="decision-rule">{a.rule ?? "—"}</dd>
        {a.detail && (
          <>
            <dt>Detail</dt>
            <dd>{a.detail}</dd>
          </>
        )}
        {a.path && (
          <>
            <dt>Normalised path</dt>
            <dd class="mono">{a.path}</dd>
          </>
        )}
        <dt>Policy version</dt>
        <dd class="mono">{a.policy_version ?? "(no policy)"}</dd>
        <dt>Governance version</dt>
        <dd class="mono">{a.governance_version ?? "(default)"}</dd>
      </dl>
      {a.layers.length > 0 && (
        <table class="grid layers">
          <thead>
            <tr>
              <th>Layer</th>
              <th>Verdict</th>
              <th>Reason</th>
              <th>Status</th>
              <th>Rule</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {inPipelineOrder(a.layers).map((v) => (
              <LayerRow key={v.layer} v={v} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The real call's answer beside What If's verdict for the same request. */
function RealCall({ real, explained }: { real: TestCallAnswer; explained: ExplainAnswer | null }) {
  const cmp = explained ? compareVerdicts(explained, real) : null;
  return (
    <section aria-label="Real call" class="real-call">
      <h2>
        Real call through the mesh: <span class={`pill ${verdictClass(real.decision)}`} data-testid="real-decision">{real.decision}</span>
      </h2>
      {cmp && (
        <p class={cmp.agree ? "agree" : "error"} data-testid="real-comparison">
          {cmp.agree ? "What If and the mesh agree" : "What If and the mesh differ"}: What If says <span class="mono">{cmp.explained}</span>, the mesh
          answered <span class="mono">{cmp.real}</span>
          {cmp.note ? ` (${cmp.note})` : ""}.
        </p>
      )}
      <dl class="fields">
        <dt>Sent by</dt>
        <dd>
          {real.caller}'s sidecar, as <span class="mono">{real.caller_spiffe_id}</span>
        </dd>
        <dt>Request</dt>
        <dd class="mono">
          {real.method} {real.path} to {real.target_spiffe_id}
        </dd>
        <dt>Status</dt>
        <dd data-testid="real-status">{real.status}</dd>
        {real.decision === "deny" && (
          <>
            <dt>Layer</dt>
            <dd data-testid="real-layer">{real.layer}</dd>
            <dt>Reason</dt>
            <dd class="mono" data-testid="real-reason">{real.reason}</dd>
          </>
        )}
        {real.request_id && (
          <>
            <dt>Request id</dt>
            <dd class="mono">{real.request_id}</dd>
          </>
        )}
        <dt>Latency</dt>
        <dd>{real.latency_ms.toFixed(1)} ms</dd>
      </dl>
      {real.body !== "" && (
        <details>
          <summary>
            Response body{real.content_type ? ` (${real.content_type})` : ""}
            {real.body_truncated ? ", first 64 KiB" : ""}
          </summary>
          <pre class="mono">{real.body}</pre>
        </details>
      )}
    </section>
  );
}

/** "What if": every layer's verdict for a hypothetical request (POST /api/v1/explain, read-only). */
export function WhatIfPage() {
  const agents = useLoad(listAgents, []);
  const [caller, setCaller] = useState("");
  const [callerId, setCallerId] = useState("");
  const [target, setTarget] = useState("");
  const [method, setMethod] = useState("GET");
  const [path, setPath] = useState("/");
  const [roles, setRoles] = useState("");
  const [token, setToken] = useState("");
  const [tokenInfo, setTokenInfo] = useState<{ facts?: TokenFacts; error?: string } | null>(null);
  // A pasted token fills the roles from its claims; the roles field stays editable.
  const takeToken = (text: string) => {
    setToken(text);
    if (text.trim() === "") return setTokenInfo(null);
    try {
      const facts = tokenFacts(text);
      setRoles(facts.roles.join(", "));
      setTokenInfo({ facts });
    } catch (e) {
      setTokenInfo({ error: e instanceof Error ? e.message : String(e) });
    }
  };
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<ExplainAnswer | null>(null);

  const [real, setReal] = useState<TestCallAnswer | null>(null);
  const [realError, setRealError] = useState<unknown>(null);

  const names = (agents.data ?? []).map((a) => a.name);
  const callerValue = caller === OTHER ? callerId.trim() : caller;
  const ready = callerValue !== "" && target !== "" && path !== "";
  const mayTestCall = can(role.value, "test-call");

  const explainNow = () => {
    const list = parseRoles(roles);
    return explain({ caller: callerValue, target, method, path, ...(list.length ? { roles: list } : {}) }).then(
      (a) => (setAnswer(a), a),
      (err: unknown) => {
        setError(err);
        setAnswer(null);
        return null;
      },
    );
  };

  const submit = (e: Event) => {
    e.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(null);
    setReal(null);
    setRealError(null);
    void explainNow().then(() => setBusy(false));
  };

  // The same request explained and really sent by the caller's sidecar, side by side.
  const sendReal = () => {
    if (!ready || !mayTestCall) return;
    setBusy(true);
    setError(null);
    setReal(null);
    setRealError(null);
    void Promise.all([
      explainNow(),
      testCall({ caller: callerValue, target, method, path }).then(setReal, (err: unknown) => setRealError(err)),
    ]).then(() => setBusy(false));
  };

  return (
    <section class="page">
      <h1>What If</h1>
      <p class="muted">
        Every layer's verdict for a request that is not sent: the stored policy and governance of the target decide. An administrator can also
        send it for real: the caller's own sidecar sends it through the mesh, and the answer is set beside the verdict.
      </p>
      <ErrorBox error={agents.error} />
      <form class="filters" onSubmit={submit}>
        <label>
          Caller
          <select value={caller} onChange={(e) => setCaller(e.currentTarget.value)}>
            <option value="">(choose)</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
            <option value={OTHER}>Other SPIFFE ID…</option>
          </select>
        </label>
        {caller === OTHER && (
          <label>
            Caller SPIFFE ID
            <input
              class="mono"
              placeholder="spiffe://example.org/..."
              value={callerId}
              onInput={(e) => setCallerId(e.currentTarget.value)}
            />
          </label>
        )}
        <label>
          Target
          <select value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">(choose)</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          Method
          <select value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
            {methods.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Path
          <input class="mono" value={path} onInput={(e) => setPath(e.currentTarget.value)} />
        </label>
        <label>
          Access token (optional)
          <input class="mono" autocomplete="off" spellcheck={false} placeholder="eyJ…" value={token} onInput={(e) => takeToken(e.currentTarget.value)} />
        </label>
        <label>
          Roles (optional, comma-separated)
          <input value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={!ready || busy}>
          Explain
        </button>
        {mayTestCall && (
          <button
            type="button"
            disabled={!ready || busy}
            onClick={sendReal}
            title="The caller's own sidecar sends this request through its egress, with its identity and token: it really reaches the target"
          >
            Send real call
          </button>
        )}
      </form>
      {tokenInfo?.error && <p class="error">Token: {tokenInfo.error}</p>}
      {tokenInfo?.facts && (
        <p class="muted" data-testid="token-facts">
          Token from {tokenInfo.facts.issuer ?? "?"} for {tokenInfo.facts.subject ?? "?"} (aud {tokenInfo.facts.audience ?? "?"}
          {tokenInfo.facts.expires ? `, expires ${formatUnix(tokenInfo.facts.expires)}` : ""}): roles taken from its claims. Its
          signature, audience and expiry are not checked here; the target's sidecar checks them (layer 3).
        </p>
      )}
      <ErrorBox error={error} />
      <ErrorBox error={realError} />
      {real && <RealCall real={real} explained={answer} />}
      {answer && <Answer a={answer} />}
    </section>
  );
}
