#!/usr/bin/env bash
# Standalone demo: one target (budget-backend) behind a Warden ingress sidecar, two
# callers (budget-report, employee-menus) behind their own egress sidecars, all on
# 127.0.0.1 with a throwaway PKI. Shows an allowed call, an RBAC denial, a refused
# handshake and a spoofed identity header, then keeps running until Ctrl-C (or exits at
# once when not attached to a terminal, or with DEMO_ONCE=1).
# Usage: demo-standalone.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: demo-standalone.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
warden="$root/$build/src/cli/warden"
echo_app="$root/$build/tools/warden-echo-app"
run=${WARDEN_DEMO_DIR:-$(mktemp -d /tmp/warden-demo.XXXXXX)}
mkdir -p "$run"

APP=18080 INGRESS=18443 ADMIN=15000 REPORT_EGRESS=15001 MENUS_EGRESS=15011
for port in $APP $INGRESS $ADMIN $REPORT_EGRESS $MENUS_EGRESS; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is already in use; stop what uses it (ss -ltnp 'sport = :$port') and retry" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$root/scripts/make-demo-pki.sh" "$run/pki" >/dev/null
cp "$root/examples/standalone/policy.yaml" "$run/policy.yaml"
cat > "$run/budget-backend.yaml" <<YAML
identity:
  cert: pki/budget-backend.pem
  key: pki/budget-backend.key
  bundles: { example.org: pki/example.org.bundle.pem }
ingress:
  listen: 127.0.0.1:$INGRESS
  upstream: 127.0.0.1:$APP
  policy: policy.yaml
admin:
  listen: 127.0.0.1:$ADMIN
audit:
  file: audit.jsonl
YAML
egress() {  # egress NAME PORT
  cat > "$run/$1.yaml" <<YAML
identity:
  cert: pki/$1.pem
  key: pki/$1.key
  bundles: { example.org: pki/example.org.bundle.pem }
egress:
  listen: 127.0.0.1:$2
  routes:
    - host: budget-backend
      address: 127.0.0.1:$INGRESS
      spiffe_id: spiffe://example.org/budget-backend
YAML
}
egress budget-report $REPORT_EGRESS
egress employee-menus $MENUS_EGRESS

"$echo_app" $APP >"$run/app.log" 2>&1 & pids+=($!)
"$warden" proxy --config "$run/budget-backend.yaml" >"$run/budget-backend.log" 2>&1 & pids+=($!)
"$warden" proxy --config "$run/budget-report.yaml" >"$run/budget-report.log" 2>&1 & pids+=($!)
"$warden" proxy --config "$run/employee-menus.yaml" >"$run/employee-menus.log" 2>&1 & pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$ADMIN/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS "http://127.0.0.1:$ADMIN/readyz" >/dev/null; then
  echo "demo: the budget-backend sidecar did not become ready; its log:" >&2
  cat "$run/budget-backend.log" >&2
  exit 1
fi
for port in $REPORT_EGRESS $MENUS_EGRESS; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

failures=0
check() {  # check LABEL EXPECTED_STATUS EXPECTED_TEXT CURL_ARGS...
  local label=$1 want=$2 text=$3; shift 3
  local out status body
  out=$(curl -sS -o - -w '\n%{http_code}' "$@" 2>&1) || true
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  local verdict=PASS
  if [ "$status" != "$want" ] || ! grep -q -- "$text" <<<"$body"; then verdict=FAIL; failures=$((failures + 1)); fi
  printf '%-58s %-6s %-6s %s\n' "$label" "$want" "$status" "$verdict"
  printf '    %s\n' "$(head -c 200 <<<"$body")"
}

echo
echo "Warden standalone demo: $run"
echo
printf '%-58s %-6s %-6s %s\n' "case" "expect" "got" "result"
check "budget-report  GET  /budget/read     (allowed, layer 2)" 200 '"caller_spiffe_id":"spiffe://example.org/budget-report"' \
  -H 'Host: budget-backend' "http://127.0.0.1:$REPORT_EGRESS/budget/read"
check "budget-report  POST /budget/submit   (rbac denial)" 403 '"layer":"rbac"' \
  -H 'Host: budget-backend' -d '{"amount":100}' "http://127.0.0.1:$REPORT_EGRESS/budget/submit"
check "budget-report  GET  /budget/read/../submit (normalised)" 403 '"error":"rule_denied"' \
  --path-as-is -H 'Host: budget-backend' "http://127.0.0.1:$REPORT_EGRESS/budget/read/../submit"
check "budget-report  spoofed X-Forwarded-SPIFFE-ID stripped" 200 '"caller_spiffe_id":"spiffe://example.org/budget-report"' \
  -H 'Host: budget-backend' -H 'X-Forwarded-SPIFFE-ID: spiffe://example.org/admin' "http://127.0.0.1:$REPORT_EGRESS/budget/read"
check "employee-menus GET  /budget/read     (refused handshake)" 502 '"layer":"transport"' \
  -H 'Host: budget-backend' "http://127.0.0.1:$MENUS_EGRESS/budget/read"
echo
# The audit writer flushes on a short tick: wait (bounded) for the five events above.
for _ in $(seq 1 50); do
  [ "$(wc -l <"$run/audit.jsonl" 2>/dev/null || echo 0)" -ge 5 ] && break
  sleep 0.05
done
echo "Audit log (one JSON line per request and refused handshake): $run/audit.jsonl"
tail -n 5 "$run/audit.jsonl" | cut -c1-220
echo
echo "Admin (budget-backend sidecar): http://127.0.0.1:$ADMIN/readyz  /metrics  /config_dump"
echo "Call it yourself:  curl -H 'Host: budget-backend' http://127.0.0.1:$REPORT_EGRESS/budget/read"
echo "Edit $run/policy.yaml and the sidecar reloads it (or: kill -HUP <pid>)."
if [ "$failures" -ne 0 ]; then
  echo "demo: $failures case(s) did not behave as expected" >&2
  exit 1
fi
if [ -t 0 ] && [ "${DEMO_ONCE:-0}" != 1 ]; then
  echo "Running. Press Ctrl-C to stop."
  wait
fi
