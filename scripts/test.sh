#!/usr/bin/env bash
# The README's test command: installs what is missing (Debian 12), builds with warnings as
# errors, and runs every test (unit, integration, fuzz corpora, benchmark smoke runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$(nproc)"
ctest --preset ci -j "$(nproc)"
