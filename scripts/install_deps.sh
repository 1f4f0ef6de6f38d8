#!/usr/bin/env bash
# Installs what SMMF needs on Debian 12 when it is missing. Idempotent and quiet when all is there.
set -euo pipefail

PACKAGES=(build-essential cmake ninja-build pkg-config git ca-certificates curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libmimalloc-dev ccache clang-format
  prometheus chromium clang libclang-rt-14-dev)  # promtool checks /metrics; chromium runs the
  # dashboard's browser tests; clang and its runtime build the fuzz targets

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[install_deps] installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "[install_deps] Node.js >= 18 is required (found $(node --version))" >&2
  exit 1
fi
