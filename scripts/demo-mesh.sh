#!/usr/bin/env bash
# Starts the budget demo mesh with `warden up`, waits until it is ready, runs the
# enforcement matrix once, and keeps the mesh running until Ctrl-C (or stops it right
# after the matrix when not attached to a terminal, or with DEMO_ONCE=1).
# Usage: demo-mesh.sh BUILD_DIR [MESH_FILE]
set -euo pipefail
build=${1:?usage: demo-mesh.sh BUILD_DIR [MESH_FILE]}
root=$(cd "$(dirname "$0")/.." && pwd)
warden="$root/$build/src/cli/warden"
mesh=${2:-$root/examples/budget/mesh.yaml}
cd "$root"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$warden" up "$mesh" > >(tee "$log") 2>&1 &
up=$!
stop() {
  kill -INT "$up" 2>/dev/null || true
  wait "$up" 2>/dev/null || true
}
trap 'stop; rm -f "$log"; exit 130' INT TERM

for _ in $(seq 1 600); do
  grep -q "mesh ready" "$log" && break
  if ! kill -0 "$up" 2>/dev/null; then
    wait "$up" || true
    echo "warden up did not start the mesh (see above)" >&2
    exit 1
  fi
  sleep 0.3
done
if ! grep -q "mesh ready" "$log"; then
  echo "the mesh did not become ready in 180 s" >&2
  stop
  exit 1
fi

echo
echo "=== warden matrix: every layer, every case (docs/demo.md) ==="
status=0
"$warden" matrix "$mesh" || status=$?

if [ -t 0 ] && [ "${DEMO_ONCE:-0}" != 1 ]; then
  echo
  echo "The mesh keeps running; press Ctrl-C to stop it (or run \`$warden matrix\` again in another terminal)."
  wait "$up" || true
else
  stop
fi
exit "$status"
