#!/usr/bin/env bash
# Installs everything Warden needs on a fresh Debian 12 machine. Idempotent.
# Boost 1.81 (libboost1.81-dev), never libboost-dev/-all-dev (1.74): apt would remove 1.81,
# and 1.74's Asio lacks what the data plane uses.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libboost1.81-dev libboost-url1.81-dev libssl-dev openssl
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsqlite3-dev
  curl ca-certificates procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node runs the interop peers (tests/interop); a machine that already has node and npm
# (from Debian or elsewhere) keeps them.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

# Debian's Chromium runs the portal's end-to-end tests (portal/e2e, CTest portal.e2e;
# playwright-core launches it); a machine that already has /usr/bin/chromium keeps it.
if [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# The interop peers' npm packages, pinned by tests/interop/package-lock.json. npm ci wipes
# and reinstalls, so run it only when node_modules is missing or older than the lockfile.
interop="$(cd "$(dirname "$0")/.." && pwd)/tests/interop"
if [ ! -f "$interop/node_modules/.package-lock.json" ] ||
   [ "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]; then
  echo "setup: installing npm packages for tests/interop"
  npm ci --prefix "$interop" --no-audit --no-fund
else
  echo "setup: tests/interop npm packages up to date"
fi

# The portal's npm packages, pinned by portal/package-lock.json; the same rule as above.
portal="$(cd "$(dirname "$0")/.." && pwd)/portal"
if [ ! -f "$portal/node_modules/.package-lock.json" ] ||
   [ "$portal/package-lock.json" -nt "$portal/node_modules/.package-lock.json" ]; then
  echo "setup: installing npm packages for portal"
  npm ci --prefix "$portal" --no-audit --no-fund
else
  echo "setup: portal npm packages up to date"
fi
