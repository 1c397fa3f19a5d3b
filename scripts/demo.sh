#!/usr/bin/env bash
# The README's demo command: installs what is missing (Debian 12), builds a release, starts
# the budget demo mesh with `warden up` (two trust domains, control plane, token service,
# sample agents behind their sidecars) and runs the enforcement matrix once.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target warden warden-proxy warden-workload-grpc
exec ./scripts/demo-mesh.sh build/release
