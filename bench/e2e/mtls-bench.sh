#!/usr/bin/env bash
# mtls-bench.sh - side-by-side performance baseline for mTLS sidecar proxies.
#
# Everything runs on 127.0.0.1 only; every load run is bounded in time; the
# harness only ever stops processes it started itself, by PID (and the process
# group it created for that PID with setsid).
#
# Run `bench/e2e/mtls-bench.sh --help` for options and the candidate interface.
# Results: <out>/summary.md, <out>/raw.jsonl, <out>/correctness.tsv.
# Re-summarize (or merge several output dirs): python3 bench/e2e/summarize.py DIR [DIR...]
# Notes and measured figures: bench/README.md.
#
# Copied from the shared baseline harness (shared/bench) and adapted for this repo:
# outputs go to bench/results/ and binaries to bench/.build/ (both git-ignored), Caddy is
# dropped (not installed here), Warden is a built-in candidate (candidates/warden.sh), and
# the leaf certs carry subject/authority key identifiers so they are valid X509-SVIDs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$HERE/.." && pwd)   # the repo's bench/ (results/ and .build/ live here)

# ---------------------------------------------------------------- defaults --
DURATION=${DURATION:-10}          # measured seconds per load run
WARMUP=${WARMUP:-1}               # unmeasured seconds before each run
CONNS=${CONNS:-"1 32"}            # keep-alive concurrency levels
HS_CONNS=${HS_CONNS:-16}          # concurrency of the new-connection (handshake) run
REPEAT=${REPEAT:-1}               # rounds; candidates are interleaved per round, medians reported
WORKERS=${WORKERS:-1}             # proxy worker processes / threads / GOMAXPROCS
CLIENT_THREADS=${CLIENT_THREADS:-1}
BACKEND_PORT=${BACKEND_PORT:-18080}
PROXY_PORT=${PROXY_PORT:-18443}
PIN=${PIN:-0}                     # 1: proxy on CPU 1, client + backend on CPU 0
SPEED=${SPEED:-1}                 # run `openssl speed` reference
LOAD=${LOAD:-1}                   # 0: correctness checks only
INSTALL=${INSTALL:-0}             # 1: apt-get install missing Debian packages
OTHER_MAX=${OTHER_MAX:-0.25}      # summary: runs with more foreign CPU load (cores) than this are set aside
OUT=${OUT:-}
ADDR=127.0.0.1                    # fixed: loopback only
TRUST_DOMAIN=example.org
ALLOW_ID="spiffe://$TRUST_DOMAIN/ns/default/sa/caller-a"
DENY_ID="spiffe://$TRUST_DOMAIN/ns/default/sa/caller-b"
SERVER_ID="spiffe://$TRUST_DOMAIN/ns/default/sa/budget-api"
ID_HEADER=X-Forwarded-SPIFFE-ID
DEFAULT_CANDIDATES="direct haproxy-mtls nginx-mtls warden"
CANDIDATES=()

usage() {
  cat <<EOF
usage: $0 [options] [CANDIDATE ...]

Candidates (default: $DEFAULT_CANDIDATES):
  direct                 client -> backend, plain HTTP (the reference for ratios)
  {nginx,haproxy}-tls    proxy terminates server-auth TLS only (no client cert)
  {nginx,haproxy}-mtls   proxy terminates mTLS and enforces the policy below
  warden                 the Warden sidecar (candidates/warden.sh; binary from \$WARDEN_BIN,
                         default build/release/src/cli/warden), layers 1+2 and audit on
  warden-l3              the same with layer 3 on (WARDEN_L3=1): a token: section with a
                         jwks_file and a role on the allowed rule; one ES256 at+jwt minted
                         per run (mint-token.mjs, needs node) is sent by every request;
                         a drop-in named warden-l3-* gets the same token (A/B of two
                         binaries: 'warden-l3-old=WARDEN_BIN=... WARDEN_L3=1 exec bash
                         bench/e2e/candidates/warden.sh')
  NAME=COMMAND           drop-in candidate: COMMAND is run with bash -c in the
                         foreground (it must not daemonize) with the BENCH_*
                         variables below exported.  NAME ending in "-tls" => TLS
                         only (BENCH_MODE=tls), anything else => mTLS (BENCH_MODE=mtls).
                         Example: 'mysidecar=exec /path/to/sidecar --config \$BENCH_RUN_DIR/x.yaml'
                         or a script like candidates/haproxy.sh.

Options (each also settable as the env var in brackets):
  --duration S     measured seconds per load run [DURATION=$DURATION]
  --warmup S       unmeasured warm-up per run [WARMUP=$WARMUP]
  --conns "1 32"   keep-alive concurrency levels [CONNS]
  --hs-conns N     concurrency of the new-connection/handshake run [HS_CONNS=$HS_CONNS]
  --repeat N       rounds, candidates interleaved, medians reported [REPEAT=$REPEAT]
  --workers N      proxy workers/threads/GOMAXPROCS [WORKERS=$WORKERS]
  --client-threads N  load generator threads [CLIENT_THREADS=$CLIENT_THREADS]
  --pin            proxy on CPU 1, client+backend on CPU 0 [PIN=1]
  --check-only     correctness checks only, no load [LOAD=0]
  --no-speed       skip 'openssl speed' [SPEED=0]
  --quick          --duration 3 --warmup 0.5 --no-speed
  --install        apt-get install missing Debian packages (root) [INSTALL=1]
  --out DIR        output directory [OUT, default bench/results/<timestamp>]
  --backend-port P / --proxy-port P   [BACKEND_PORT=$BACKEND_PORT PROXY_PORT=$PROXY_PORT]

Candidate interface (exported to every proxy candidate command):
  BENCH_MODE=mtls|tls          what to terminate / enforce
  BENCH_LISTEN_ADDR=127.0.0.1  BENCH_LISTEN_PORT=$PROXY_PORT   where to listen (HTTP/1.1 over TLS, ALPN http/1.1)
  BENCH_BACKEND_ADDR=127.0.0.1 BENCH_BACKEND_PORT=$BACKEND_PORT plain HTTP/1.1 keep-alive upstream (the app)
  BENCH_SERVER_CERT, BENCH_SERVER_KEY, BENCH_SERVER_PEM (cert+key)  server identity
                               (SAN DNS:localhost, IP:127.0.0.1, URI:$SERVER_ID)
  BENCH_CA_CERT                the only CA trusted for client certs (ECDSA P-256)
  BENCH_ALLOW_SPIFFE_ID=$ALLOW_ID
  BENCH_DENY_SPIFFE_ID=$DENY_ID   (valid cert from the same CA, must be refused)
  BENCH_ALLOW_SUBJECT_DN="CN=caller-a,O=$TRUST_DOMAIN" (for proxies that cannot read URI SANs)
  BENCH_ID_HEADER=$ID_HEADER   header to set towards the app
  BENCH_WORKERS=N              worker processes/threads to use
  BENCH_RUN_DIR                scratch dir for configs and logs
  BENCH_CERT_DIR               all certs (ca.crt, server.*, caller-a.*, caller-b.*, rogue-a.*)
Expected behaviour in mtls mode (checked with curl before any load run):
  - client cert required and verified against BENCH_CA_CERT (none / foreign CA => handshake failure or 4xx)
  - identity = URI SAN; only BENCH_ALLOW_SPIFFE_ID allowed (caller-b => 403 or handshake failure)
  - GET /budget/read => forwarded to the app => 200, with BENCH_ID_HEADER: <URI SAN>
    (any client-supplied value overwritten); POST /budget/submit => 403; any other route => 403
  - keep-alive towards client and app; the command exits on SIGTERM
In tls mode: no client cert, same route rules, no identity header.
EOF
}

# ----------------------------------------------------------------- options --
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --hs-conns) HS_CONNS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    --client-threads) CLIENT_THREADS=$2; shift ;;
    --pin) PIN=1 ;;
    --check-only) LOAD=0 ;;
    --no-speed) SPEED=0 ;;
    --quick) DURATION=3; WARMUP=0.5; SPEED=0 ;;
    --install) INSTALL=1 ;;
    --out) OUT=$2; shift ;;
    --backend-port) BACKEND_PORT=$2; shift ;;
    --proxy-port) PROXY_PORT=$2; shift ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) CANDIDATES+=("$1") ;;
  esac
  shift
done
[ ${#CANDIDATES[@]} -gt 0 ] || read -r -a CANDIDATES <<<"$DEFAULT_CANDIDATES"
OUT=${OUT:-$BENCH_ROOT/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CERTS="$OUT/certs"
RUN="$OUT/run"
mkdir -p "$CERTS" "$RUN"
RAW="$OUT/raw.jsonl"
CORR="$OUT/correctness.tsv"
: >"$RAW"
printf 'round\tcandidate\tcheck\texpect\tgot\tresult\n' >"$CORR"
LOG="$OUT/bench.log"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }

# ------------------------------------------------------------ dependencies --
need_pkgs=()
for pair in openssl:openssl nginx:nginx-light haproxy:haproxy curl:curl gcc:gcc ss:iproute2 ps:procps python3:python3 taskset:util-linux; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_pkgs+=("${pair#*:}")
done
[ -e /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$INSTALL" = 1 ]; then
    log "installing: ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >>"$LOG" 2>&1
  else
    echo "missing packages: ${need_pkgs[*]} (rerun with --install, or apt-get install them)" >&2
    exit 1
  fi
fi

# ----------------------------------------------------------- load client --
LOADBIN="$BENCH_ROOT/.build/mtls-load"
FLOORBIN="$BENCH_ROOT/.build/hs-floor"
mkdir -p "$BENCH_ROOT/.build"
if [ ! -x "$LOADBIN" ] || [ "$HERE/mtls-load.c" -nt "$LOADBIN" ]; then
  gcc -O2 -Wall -o "$LOADBIN" "$HERE/mtls-load.c" -lssl -lcrypto -lpthread
fi
if [ ! -x "$FLOORBIN" ] || [ "$HERE/hs-floor.c" -nt "$FLOORBIN" ]; then
  gcc -O2 -Wall -o "$FLOORBIN" "$HERE/hs-floor.c" -lssl -lcrypto
fi

# ---------------------------------------------------- process bookkeeping --
STARTED=()   # PIDs we started (each is its own session/process-group leader)
LAST_PID=""
start_bg() { # logfile cmd... ; sets LAST_PID (not run in a subshell, so the PID stays our child)
  local logf=$1; shift
  setsid "$@" >"$logf" 2>&1 </dev/null &
  LAST_PID=$!
  STARTED+=("$LAST_PID")
}
stop_pid() { # pid: TERM the leader, then anything left in its own process group
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  # leftovers in the group this harness created for $pid (e.g. nginx workers)
  if [ -n "$(ps -o pid= --sid "$pid" 2>/dev/null)" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true; sleep 0.3; kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${STARTED[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  STARTED=("${keep[@]+"${keep[@]}"}")
}
cleanup() {
  local p
  for p in "${STARTED[@]+"${STARTED[@]}"}"; do stop_pid "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
wait_port() { # port pid timeout_s
  local i
  for i in $(seq 1 $(( $3 * 10 ))); do
    port_busy "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
group_pids() { ps -o pid= --sid "$1" 2>/dev/null | tr -d ' ' | grep -v '^$' || true; }
assert_loopback() { # pid: every listener of the group must be on 127.0.0.1 / ::1
  local pids re bad
  pids=$(group_pids "$1" | paste -sd'|')
  [ -n "$pids" ] || return 0
  re="pid=($pids),"
  bad=$(ss -Hltunp 2>/dev/null | grep -E "$re" | awk '{print $5}' | grep -vE '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):' || true)
  if [ -n "$bad" ]; then log "ABORT: candidate listens off loopback: $bad"; exit 3; fi
}
cpu_ticks() { # sum of utime+stime of the group
  local p s=0 t
  for p in $(group_pids "$1"); do
    t=$(awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$p/stat" 2>/dev/null || echo 0)
    s=$((s + t))
  done
  echo "$s"
}
mem_kb() { # field (VmRSS|VmHWM) summed over the group
  local p s=0 v
  for p in $(group_pids "$1"); do
    v=$(awk -v f="$2:" '$1==f{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
pss_kb() {
  local p s=0 v
  for p in $(group_pids "$1"); do
    v=$(awk '$1=="Pss:"{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
host_ticks() { awk '$1=="cpu"{print $2+$3+$4+$7+$8+$9, $9; exit}' /proc/stat; }  # busy (incl. steal), steal
CLK_TCK=$(getconf CLK_TCK)
if [ "$PIN" = 1 ]; then PIN_PROXY=(taskset -c 1); PIN_OTHER=(taskset -c 0); else PIN_PROXY=(); PIN_OTHER=(); fi

# ------------------------------------------------------------------ certs --
gen_certs() {
  local d=$CERTS
  cd "$d"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 1 -subj "/O=$TRUST_DOMAIN/CN=bench throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
  # a second, untrusted CA: issues a cert with caller-a's SPIFFE ID (must be refused)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue-ca.key 2>/dev/null
  openssl req -x509 -new -key rogue-ca.key -sha256 -days 1 -subj "/O=$TRUST_DOMAIN/CN=rogue CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out rogue-ca.crt
  leaf() { # name cn san eku ca
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    openssl req -new -key "$1.key" -subj "/O=$TRUST_DOMAIN/CN=$2" -out "$1.csr"
    # SKI/AKI are spelled out (OpenSSL 3.0 adds them by default, older versions do not):
    # strict RFC 5280 validation, which X509-SVID verifiers such as Warden's use, needs them.
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' "$4" "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$5.crt" -CAkey "$5.key" -CAcreateserial -days 1 -sha256 \
      -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  leaf server budget-api "DNS:localhost,IP:127.0.0.1,URI:$SERVER_ID" serverAuth ca
  leaf caller-a caller-a "URI:$ALLOW_ID" clientAuth ca
  leaf caller-b caller-b "URI:$DENY_ID" clientAuth ca
  leaf rogue-a caller-a "URI:$ALLOW_ID" clientAuth rogue-ca
  cat server.crt server.key >server.pem
  chmod 600 ./*.key server.pem
  cd - >/dev/null
}
log "output: $OUT"
gen_certs
export BENCH_RUN_DIR="$RUN" BENCH_CERT_DIR="$CERTS"
export BENCH_LISTEN_ADDR=$ADDR BENCH_LISTEN_PORT=$PROXY_PORT BENCH_BACKEND_ADDR=$ADDR BENCH_BACKEND_PORT=$BACKEND_PORT
export BENCH_SERVER_CERT="$CERTS/server.crt" BENCH_SERVER_KEY="$CERTS/server.key" BENCH_SERVER_PEM="$CERTS/server.pem"
export BENCH_CA_CERT="$CERTS/ca.crt" BENCH_ALLOW_SPIFFE_ID=$ALLOW_ID BENCH_DENY_SPIFFE_ID=$DENY_ID
export BENCH_ALLOW_SUBJECT_DN="CN=caller-a,O=$TRUST_DOMAIN" BENCH_ID_HEADER=$ID_HEADER BENCH_WORKERS=$WORKERS
# Layer 3 (warden-l3): one long-lived token minted per run, its JWKS beside the certs.
export BENCH_TOKEN_ISSUER=https://issuer.bench.example.org BENCH_TOKEN_AUDIENCE=api://budget-api
export BENCH_TOKEN_ROLE=Budget.Read BENCH_TOKEN_JWKS="$CERTS/l3-jwks.json"
TOKEN=""
for spec in "${CANDIDATES[@]}"; do
  case "${spec%%=*}" in warden-l3|warden-l3-*)
    command -v node >/dev/null 2>&1 || { echo "warden-l3 needs node (mint-token.mjs)" >&2; exit 1; }
    node "$HERE/mint-token.mjs" "$CERTS" "$BENCH_TOKEN_ISSUER" "$BENCH_TOKEN_AUDIENCE" "$ALLOW_ID" "$BENCH_TOKEN_ROLE"
    TOKEN=$(cat "$CERTS/l3-token.txt")
    break ;;
  esac
done

# ------------------------------------------------------- machine context --
{
  echo "date=$(date -Is)"
  echo "kernel=$(uname -r) cpus=$(nproc) model=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "openssl=$(openssl version)"
  echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
  echo "haproxy=$(haproxy -v 2>/dev/null | head -1)"
  echo "warden=${WARDEN_BIN:-$(cd "$BENCH_ROOT/.." && pwd)/build/release/src/cli/warden-proxy} ($(cd "$BENCH_ROOT/.." && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "duration=$DURATION warmup=$WARMUP conns='$CONNS' hs_conns=$HS_CONNS repeat=$REPEAT workers=$WORKERS client_threads=$CLIENT_THREADS pin=$PIN"
} >"$OUT/env.txt"

if [ "$SPEED" = 1 ]; then
  log "openssl speed (single core) ..."
  timeout 180 openssl speed -seconds 3 -mr ecdsap256 rsa2048 ecdhx25519 ecdhp256 >"$OUT/openssl-speed.txt" 2>&1 || log "openssl speed failed"
  log "libssl in-memory handshake floor (hs-floor) ..."
  timeout 60 "$FLOORBIN" "$CERTS" 5 >"$OUT/hs-floor.jsonl" 2>>"$LOG" || log "hs-floor failed"
fi

# ---------------------------------------------------------------- backend --
port_busy "$BACKEND_PORT" && { log "port $BACKEND_PORT busy"; exit 1; }
port_busy "$PROXY_PORT" && { log "port $PROXY_PORT busy"; exit 1; }
BD="$RUN/backend"
mkdir -p "$BD/logs" "$BD/tmp"
cat >"$BD/nginx.conf" <<CONF
worker_processes 1;
pid $BD/nginx.pid;
error_log $BD/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $BD/tmp/body;
  proxy_temp_path $BD/tmp/proxy;
  fastcgi_temp_path $BD/tmp/fastcgi;
  uwsgi_temp_path $BD/tmp/uwsgi;
  scgi_temp_path $BD/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  default_type application/json;
  server {
    listen $ADDR:$BACKEND_PORT;
    location / {
      add_header X-Seen-SPIFFE-ID "\$http_x_forwarded_spiffe_id" always;
      return 200 '{"budget":"ok","remaining":42}\n';
    }
  }
}
CONF
start_bg "$BD/stdout.log" "${PIN_OTHER[@]}" nginx -p "$BD/" -e "$BD/logs/error.log" -c "$BD/nginx.conf" -g 'daemon off;'
BACKEND_PID=$LAST_PID
wait_port "$BACKEND_PORT" "$BACKEND_PID" 10 || { log "backend did not start"; cat "$BD/logs/error.log" >&2; exit 1; }
assert_loopback "$BACKEND_PID"
log "backend nginx pid $BACKEND_PID on $ADDR:$BACKEND_PORT"

# ------------------------------------------------------------- candidates --
cand_mode() { case "${1%%=*}" in direct) echo direct ;; *-tls) echo tls ;; *) echo mtls ;; esac; }
cand_name() { echo "${1%%=*}"; }
cand_auth() { case "${1%%=*}" in warden-l3|warden-l3-*) echo "Authorization: Bearer $TOKEN" ;; esac; }  # header line every request carries
cand_cmd() {
  case "$1" in
    *=*) echo "${1#*=}" ;;
    nginx-tls|nginx-mtls) echo "exec bash '$HERE/candidates/nginx.sh'" ;;
    haproxy-tls|haproxy-mtls) echo "exec bash '$HERE/candidates/haproxy.sh'" ;;
    warden|warden-mtls) echo "exec bash '$HERE/candidates/warden.sh'" ;;
    warden-l3) echo "WARDEN_L3=1 exec bash '$HERE/candidates/warden.sh'" ;;
    *) echo "unknown candidate '$1' (use NAME=COMMAND for a drop-in)" >&2; return 1 ;;
  esac
}

FAILS=0
ROUND=0
check() { # cand desc expect(200|401|403|deny|hdr) method path cert-name [extra curl args...]
  local cand=$1 desc=$2 expect=$3 method=$4 path=$5 who=$6; shift 6
  local url code rc seen got res hdrf
  if [ "$(cand_mode "$cand")" = direct ]; then url="http://$ADDR:$BACKEND_PORT$path"; else url="https://${CHECK_HOST:-$ADDR}:$PROXY_PORT$path"; fi
  hdrf=$(mktemp)
  local cargs=(-sS --max-time 5 -o /dev/null -D "$hdrf" -w '%{http_code}' -X "$method" --cacert "$CERTS/ca.crt")
  [ "$who" = none ] || cargs+=(--cert "$CERTS/$who.crt" --key "$CERTS/$who.key")
  [ -z "$(cand_auth "$cand")" ] || [ "${NO_AUTH:-0}" = 1 ] || cargs+=(-H "$(cand_auth "$cand")")
  set +e
  code=$(curl "${cargs[@]}" "$@" "$url" 2>"$hdrf.err")
  rc=$?
  set -e
  seen=$(awk -F': ' 'tolower($1)=="x-seen-spiffe-id"{sub(/\r$/,"",$2); print $2}' "$hdrf")
  case "$expect" in
    200) got="http=$code"; [ "$code" = 200 ] && res=PASS || res=FAIL ;;
    403) got="http=$code"; [ "$code" = 403 ] && res=PASS || res=FAIL ;;
    401) got="http=$code"; [ "$code" = 401 ] && res=PASS || res=FAIL ;;
    deny) got="http=$code curl_rc=$rc"
          if [ "$code" = 403 ] || [ "$code" = 400 ] || [ "$code" = 401 ] || [ "$code" = 495 ] || [ "$code" = 496 ]; then res=PASS
          elif [ "$rc" != 0 ] && [ "$code" = 000 ]; then res=PASS; got="$got (handshake/connection refused: $(tr -d '\n' <"$hdrf.err" | cut -c1-80))"
          else res=FAIL; fi ;;
    hdr) got="http=$code $ID_HEADER=${seen:-<none>}"; [ "$code" = 200 ] && [ "$seen" = "$ALLOW_ID" ] && res=PASS || res=FAIL ;;
  esac
  rm -f "$hdrf" "$hdrf.err"
  [ $res = PASS ] || FAILS=$((FAILS + 1))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$cand" "$desc" "$expect" "$got" "$res" >>"$CORR"
  [ $res = PASS ] || log "  FAIL $cand: $desc expected $expect got $got"
}
correctness() { # cand
  local c=$1
  case "$(cand_mode "$c")" in
    direct)
      check "$c" "GET /budget/read" 200 GET /budget/read none ;;
    tls)
      check "$c" "no client cert: GET /budget/read" 200 GET /budget/read none
      check "$c" "no client cert: POST /budget/submit" 403 POST /budget/submit none
      check "$c" "GET /budget/other (default deny)" 403 GET /budget/other none ;;
    mtls)
      check "$c" "caller-a: GET /budget/read" 200 GET /budget/read caller-a
      check "$c" "caller-a: identity header forwarded, client-supplied value overwritten" hdr GET /budget/read caller-a \
        -H "$ID_HEADER: spiffe://$TRUST_DOMAIN/ns/default/sa/admin"
      check "$c" "caller-a: POST /budget/submit" 403 POST /budget/submit caller-a
      check "$c" "caller-a: GET /budget/other (default deny)" 403 GET /budget/other caller-a
      check "$c" "caller-b: GET /budget/read" deny GET /budget/read caller-b
      check "$c" "no client cert: GET /budget/read" deny GET /budget/read none
      # same, but with SNI (a policy keyed on SNI must not fall back to one without client auth)
      CHECK_HOST=localhost check "$c" "no client cert, SNI=localhost: GET /budget/read" deny GET /budget/read none \
        --resolve "localhost:$PROXY_PORT:$ADDR"
      CHECK_HOST=localhost check "$c" "caller-a, SNI=localhost: GET /budget/read" 200 GET /budget/read caller-a \
        --resolve "localhost:$PROXY_PORT:$ADDR"
      check "$c" "caller-a SPIFFE ID from untrusted CA" deny GET /budget/read rogue-a
      if [ -n "$(cand_auth "$c")" ]; then
        local at=$(( ${#TOKEN} - 10 )) ch bad
        ch=${TOKEN:at:1}; [ "$ch" = A ] && ch=B || ch=A
        bad="${TOKEN:0:at}$ch${TOKEN:at+1}"   # signature altered
        NO_AUTH=1 check "$c" "caller-a without a token: GET /budget/read" 401 GET /budget/read caller-a
        NO_AUTH=1 check "$c" "caller-a with a bad signature: GET /budget/read" 401 GET /budget/read caller-a \
          -H "Authorization: Bearer $bad"
      fi ;;
  esac
}

load_run() { # cand test mode conns pid
  local cand=$1 test=$2 mode=$3 conns=$4 pid=$5
  local args=(-H "$ADDR" -c "$conns" -t "$CLIENT_THREADS" -d "$DURATION" -w "$WARMUP" -m "$mode" -P /budget/read -l "$cand/$test")
  case "$(cand_mode "$cand")" in
    direct) args+=(-p "$BACKEND_PORT") ;;
    tls) args+=(-p "$PROXY_PORT" -s) ;;
    mtls) args+=(-p "$PROXY_PORT" -s --cert "$CERTS/caller-a.crt" --key "$CERTS/caller-a.key") ;;
  esac
  [ -z "$(cand_auth "$cand")" ] || args+=(-A "$(cand_auth "$cand")")
  local tmp; tmp=$(mktemp)
  # sample the proxy's and the backend's CPU at the start and end of the measured window
  ( sleep "$WARMUP"; echo "$( [ -n "$pid" ] && cpu_ticks "$pid" || echo 0) $(cpu_ticks "$BACKEND_PID") $(host_ticks)" >"$tmp" ) &
  local sampler=$!
  local json
  json=$(timeout $(( ${DURATION%.*} + ${WARMUP%.*} + 30 )) "${PIN_OTHER[@]}" "$LOADBIN" "${args[@]}") || { log "  load run $cand/$test failed"; wait "$sampler" || true; rm -f "$tmp"; return 0; }
  local p1 b1 p0 b0 h0 h1 st0 st1
  p1=$([ -n "$pid" ] && cpu_ticks "$pid" || echo 0); b1=$(cpu_ticks "$BACKEND_PID"); read -r h1 st1 <<<"$(host_ticks)"
  wait "$sampler" || true
  read -r p0 b0 h0 st0 <"$tmp"; rm -f "$tmp"
  local rss hwm pss
  if [ -n "$pid" ]; then rss=$(mem_kb "$pid" VmRSS); hwm=$(mem_kb "$pid" VmHWM); pss=$(pss_kb "$pid"); else rss=0; hwm=0; pss=0; fi
  json="${json%\}},\"round\":$ROUND,\"candidate\":\"$cand\",\"test\":\"$test\",\"proxy_cpu_s\":$(awk -v a="$p0" -v b="$p1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),\"backend_cpu_s\":$(awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),\"host_busy_s\":$(awk -v a="$h0" -v b="$h1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),\"host_steal_s\":$(awk -v a="$st0" -v b="$st1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),\"proxy_rss_kb\":$rss,\"proxy_hwm_kb\":$hwm,\"proxy_pss_kb\":$pss,\"loadavg\":\"$(cut -d' ' -f1 /proc/loadavg)\"}"
  echo "$json" >>"$RAW"
  log "  $(echo "$json" | python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print("%-13s %-6s rps=%8.0f p50=%7.0fus p99=%7.0fus 2xx=%d 4xx=%d err=%d/%d/%d client_cpu=%.0f%% proxy_cpu=%.1fs" % (j["candidate"], j["test"], j["rps"], j["p50_us"], j["p99_us"], j["s2xx"], j["s4xx"], j["conn_err"], j["tls_err"], j["io_err"], j["client_cpu_pct"], j["proxy_cpu_s"]))')"
}

bench_candidate() { # spec
  local spec=$1 cand mode cmd pid="" idle_rss=0 idle_pss=0
  cand=$(cand_name "$spec"); mode=$(cand_mode "$spec")
  log "[$ROUND] $cand (mode $mode)"
  if [ "$mode" != direct ]; then
    cmd=$(cand_cmd "$spec")
    port_busy "$PROXY_PORT" && { log "port $PROXY_PORT busy"; exit 1; }
    start_bg "$RUN/$cand.r$ROUND.log" "${PIN_PROXY[@]}" env BENCH_MODE="$mode" bash -c "$cmd"
    pid=$LAST_PID
    if ! wait_port "$PROXY_PORT" "$pid" 15; then
      log "  $cand did not start; log:"; tail -20 "$RUN/$cand.r$ROUND.log" >&2
      stop_pid "$pid"; FAILS=$((FAILS + 1))
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$cand" "start" "listening" "did not start" FAIL >>"$CORR"
      return 0
    fi
    assert_loopback "$pid"
    sleep 0.3
    idle_rss=$(mem_kb "$pid" VmRSS); idle_pss=$(pss_kb "$pid")
  fi
  correctness "$cand"
  if [ "$LOAD" = 1 ]; then
    local c
    for c in $CONNS; do load_run "$cand" "ka-c$c" ka "$c" "$pid"; done
    load_run "$cand" "conn-c$HS_CONNS" conn "$HS_CONNS" "$pid"
  fi
  if [ -n "$pid" ]; then
    echo "{\"round\":$ROUND,\"candidate\":\"$cand\",\"test\":\"idle\",\"proxy_rss_kb\":$idle_rss,\"proxy_pss_kb\":$idle_pss,\"proxy_hwm_kb\":$(mem_kb "$pid" VmHWM)}" >>"$RAW"
    stop_pid "$pid"
  fi
}

for ROUND in $(seq 1 "$REPEAT"); do
  for spec in "${CANDIDATES[@]}"; do
    [ "$(cand_mode "$spec")" = direct ] || cand_cmd "$spec" >/dev/null
    bench_candidate "$spec"
  done
done
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
stop_pid "$BACKEND_PID"

# ---------------------------------------------------------------- summary --
python3 "$HERE/summarize.py" "$OUT" --other-max "$OTHER_MAX" | tee "$OUT/summary.md"
log "summary: $OUT/summary.md"
[ "$FAILS" = 0 ] || { log "$FAILS correctness failure(s)"; exit 1; }
