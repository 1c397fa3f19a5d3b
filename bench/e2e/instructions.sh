#!/usr/bin/env bash
# User-space instructions per proxied request, counted by callgrind: a deterministic A/B
# for hot-path changes on a machine whose timings drift by +-20 % from run to run
# (bench/README.md). It says nothing about kernel time (syscalls, wake-ups): the timed
# harness (mtls-bench.sh, "CPU us/req") covers that side.
#
#   bench/e2e/instructions.sh build/release/src/cli/warden-proxy /tmp/old/warden-proxy haproxy
#   bench/e2e/instructions.sh --l3 build/release/src/cli/warden-proxy   # layer 3 on, token sent
#
# Each candidate (a warden or warden-proxy binary, or "haproxy") serves the bench's
# keep-alive load (mtls-load, 32 connections, GET /budget/read, layers 1+2 and audit on)
# under valgrind --tool=callgrind. Counting starts after a warm-up, so startup and the
# handshakes are left out. Configs and certificates come from one correctness-only run of
# mtls-bench.sh. Needs valgrind (apt-get install valgrind). Results: OUT/instructions.tsv.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_root=$(cd "$here/.." && pwd)
warmup=4
seconds=10
conns=32
l3=0
out=""
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
cands=()
while [ $# -gt 0 ]; do
  case "$1" in
    --warmup) warmup=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --conns) conns=$2; shift ;;
    --l3) l3=1 ;;
    --out) out=$2; shift ;;
    -h|--help) usage ;;
    -*) echo "instructions.sh: unknown option $1" >&2; exit 2 ;;
    *) cands+=("$1") ;;
  esac
  shift
done
[ ${#cands[@]} -gt 0 ] || usage
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
first_warden=""
for c in "${cands[@]}"; do
  if [ "$c" != haproxy ]; then
    [ -x "$c" ] || { echo "instructions.sh: not an executable: $c" >&2; exit 1; }
    [ -n "$first_warden" ] || first_warden=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
  fi
done
[ -n "$out" ] || out="$bench_root/results/$(date +%Y%m%d-%H%M%S)-instructions"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Certificates, the backend's config and each proxy's config: one correctness-only run.
setup=(warden haproxy-mtls)
[ "$l3" = 1 ] && setup=(warden-l3 haproxy-mtls)
WARDEN_BIN=${first_warden:-$bench_root/../build/release/src/cli/warden-proxy} \
  bash "$here/mtls-bench.sh" --check-only --no-speed --out "$out" "${setup[@]}" >"$out/setup.log" 2>&1 ||
  { echo "instructions.sh: setup run failed; see $out/setup.log" >&2; exit 1; }
run="$out/run"
certs="$out/certs"
load="$bench_root/.build/mtls-load"
warden_cfg="$run/warden-mtls/warden.yaml"
[ "$l3" = 1 ] && warden_cfg="$run/warden-l3-mtls/warden.yaml"
token_args=()
[ "$l3" = 1 ] && token_args=(-A "Authorization: Bearer $(cat "$certs/l3-token.txt")")

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -p "$run/backend/" -e "$run/backend/logs/error.log" -c "$run/backend/nginx.conf" \
  -g 'daemon off;' >"$out/backend.log" 2>&1 &
pids+=($!)

wait_port() {
  for _ in $(seq 150); do
    (exec 3<>/dev/tcp/127.0.0.1/18443) 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

printf 'candidate\trequests\tinstructions\tper_request\n' >"$out/instructions.tsv"
base=""
for c in "${cands[@]}"; do
  name=$(basename "$c")
  [ "$c" = haproxy ] || name="$name($(basename "$(dirname "$c")"))"
  cg="$out/callgrind.$(echo "$name" | tr -c 'A-Za-z0-9._-' '_')"
  if [ "$c" = haproxy ]; then
    cmd=(haproxy -db -f "$run/haproxy-mtls/haproxy.cfg")
  else
    case "$(basename "$c")" in
      warden-proxy*) cmd=("$c" --config "$warden_cfg") ;;
      *) cmd=("$c" proxy --config "$warden_cfg") ;;
    esac
  fi
  valgrind --tool=callgrind --callgrind-out-file="$cg" "${cmd[@]}" >"$cg.log" 2>&1 &
  vg=$!
  pids+=($vg)
  wait_port || { echo "instructions.sh: $name did not start; see $cg.log" >&2; exit 1; }
  "$load" -H 127.0.0.1 -p 18443 -s --cert "$certs/caller-a.crt" --key "$certs/caller-a.key" \
    -c "$conns" -t 1 -m ka -P /budget/read -l "$name" "${token_args[@]}" \
    -d "$seconds" -w "$warmup" >"$cg.load.json" &
  lp=$!
  sleep "$warmup"
  callgrind_control -z "$vg" >/dev/null 2>&1
  wait "$lp"
  callgrind_control -d "$vg" >/dev/null 2>&1
  kill "$vg" 2>/dev/null || true
  wait "$vg" 2>/dev/null || true
  requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$cg.load.json")
  total=$(callgrind_annotate "$cg.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  per=$(( total / requests ))
  [ -n "$base" ] || base=$per
  printf '%s\t%s\t%s\t%s\n' "$name" "$requests" "$total" "$per" >>"$out/instructions.tsv"
  printf '%-36s %8s requests  %9s instructions/request  %s x the first\n' "$name" "$requests" \
    "$per" "$(awk -v a="$per" -v b="$base" 'BEGIN{printf "%.3f", a/b}')"
done
echo "results: $out/instructions.tsv (callgrind files beside it: callgrind_annotate FILE.1)"
