#!/usr/bin/env bash
# One command for the end-to-end comparison: builds a release warden if needed, then runs
# the side-by-side harness (direct, HAProxy, nginx, Warden; mTLS, 1 worker each).
#
#   bench/e2e/run.sh                    # 1 round, 10 s per run (~4 min)
#   bench/e2e/run.sh --repeat 3         # 3 interleaved rounds, medians reported
#   bench/e2e/run.sh --check-only       # correctness checks only
#   bench/e2e/run.sh --quick warden     # any mtls-bench.sh option / candidate list
#
# Results: bench/results/<timestamp>/summary.md (git-ignored). WARDEN_BIN overrides the
# binary (default build/release/src/cli/warden-proxy, the sidecar-only binary, built here
# with CMake + Ninja; a `warden` binary is run as `warden proxy`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ -z "${WARDEN_BIN:-}" ]; then
  export WARDEN_BIN="$repo/build/release/src/cli/warden-proxy"
  if [ ! -f "$repo/build/release/build.ninja" ]; then
    cmake -S "$repo" -B "$repo/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$repo/build/release" --target warden-proxy warden-workload-grpc -j2
fi
# Default candidate set unless the caller named some (any arg not starting with '-' and
# not the value of an option taking one).
has_cand=0
prev=""
for a in "$@"; do
  case "$prev" in --duration|--warmup|--conns|--hs-conns|--repeat|--workers|--client-threads|--out|--backend-port|--proxy-port) prev=""; continue ;; esac
  case "$a" in -*) prev=$a ;; *) has_cand=1 ;; esac
done
if [ $has_cand = 0 ]; then set -- "$@" direct haproxy-mtls nginx-mtls warden; fi
exec "$here/mtls-bench.sh" "$@"
