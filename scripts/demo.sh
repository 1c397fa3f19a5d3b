#!/usr/bin/env bash
# The README's demo command: installs what is missing (Debian 12), builds a release, and
# starts the standalone demo (sample app, ingress and egress sidecars on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target warden warden-echo-app
exec ./scripts/demo-standalone.sh build/release
