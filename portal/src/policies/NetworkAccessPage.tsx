import { getPolicy } from "../api/agents";
import { listPolicies, type PolicyVersion } from "../api/policies";
import { ErrorBox } from "../ui/ErrorBox";
import { formatUnix } from "../ui/format";
import { useLoad } from "../ui/useLoad";
import { kindLabel, parseAllowList } from "./allowList";

function AllowTable({ target }: { target: string }) {
  const policy = useLoad(() => getPolicy(target), [target]);
  if (policy.error) return <ErrorBox error={policy.error} />;
  if (!policy.data) return <p class="muted">Loading…</p>;
  let list;
  try {
    list = parseAllowList(policy.data.content);
  } catch (e) {
    return <ErrorBox error={new Error(`Cannot read the allow list: ${e instanceof Error ? e.message : String(e)}`)} />;
  }
  if (list.entries.length === 0) return <p class="muted">allow: [] — layer 1 admits nobody.</p>;
  const broad = list.entries.filter((e) => e.broad).length;
  return (
    <>
      {broad > 0 && (
        <p class="status-warn">
          {broad} of {list.entries.length} entries admit more than one named ID.
        </p>
      )}
      <table class="grid">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Matcher</th>
            <th>Scope</th>
          </tr>
        </thead>
        <tbody>
          {list.entries.map((e, i) => (
            <tr key={i} data-testid="allow-entry">
              <td>{kindLabel[e.kind]}</td>
              <td class="mono">{e.value}</td>
              <td>
                {e.broad ? (
                  <span
                    class="pill badge-broad"
                    title={e.kind === "trust_domain" ? "admits every ID in this trust domain" : "admits every ID the pattern matches"}
                  >
                    broad
                  </span>
                ) : (
                  <span class="pill badge-exact">exact</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function TargetSection({ doc }: { doc: PolicyVersion }) {
  return (
    <section data-testid={`target-${doc.target}`}>
      <h2>
        <a href={`/agents/${encodeURIComponent(doc.target)}`}>{doc.target}</a>
      </h2>
      <p class="muted">
        Version {doc.version}
        {doc.author && ` by ${doc.author.subject}`}
        {doc.time ? `, ${formatUnix(doc.time)}` : ""}
        {doc.comment && ` — ${doc.comment}`}
      </p>
      <AllowTable target={doc.target} />
    </section>
  );
}

/** Layer 1 (transport): who may complete the mTLS handshake with each target that has a policy. */
export function NetworkAccessPage() {
  const docs = useLoad(listPolicies, []);
  const sorted = [...(docs.data ?? [])].sort((a, b) => a.target.localeCompare(b.target));
  return (
    <section class="page">
      <h1>Network access</h1>
      <p class="muted">
        Each target's layer 1 allow-list: the SPIFFE IDs that may complete the mTLS handshake. A trust domain or a
        pattern admits IDs nobody listed one by one.
      </p>
      <div class="toolbar">
        <button type="button" onClick={docs.reload}>
          Refresh
        </button>
      </div>
      <ErrorBox error={docs.error} />
      {docs.loading && !docs.data && <p class="muted">Loading…</p>}
      {docs.data && sorted.length === 0 && <p class="muted">No target has a policy.</p>}
      {sorted.map((d) => (
        <TargetSection key={`${d.target}@${d.version}`} doc={d} />
      ))}
    </section>
  );
}
