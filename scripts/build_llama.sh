#!/usr/bin/env bash
# Builds the pinned llama.cpp (source bundled in node-llama-cpp@3.21.1) once per machine and
# installs it into a cache keyed by version and flags. Prints the install prefix on stdout.
# Re-running with the same key is a no-op. Needs: npm (registry), git, cmake, ninja, a C++ compiler.
set -euo pipefail

NLC_VERSION="3.21.1"
CACHE_ROOT="${SMMF_CACHE:-$HOME/.cache/smmf}"
# GGML_NATIVE=ON: the cache is per machine, so tuning for this CPU is safe and fastest.
# llama-server is built too: it is the baseline in bench/engine and a managed engine in tests.
FLAGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_SERVER=ON)
KEY=$(printf '%s %s' "$NLC_VERSION" "${FLAGS[*]}" | sha256sum | cut -c1-12)
DIR="$CACHE_ROOT/llama.cpp-$NLC_VERSION-$KEY"
PREFIX="$DIR/install"

if [ -f "$DIR/.done" ]; then
  echo "$PREFIX"
  exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ -f "$DIR/.done" ]; then
  echo "$PREFIX"
  exit 0
fi

log() { echo "[build_llama] $*" >&2; }
cd "$DIR"
if [ ! -f "node-llama-cpp-$NLC_VERSION.tgz" ]; then
  log "fetching node-llama-cpp@$NLC_VERSION from the npm registry"
  npm pack --silent "node-llama-cpp@$NLC_VERSION" >&2
fi
rm -rf package src
tar -xzf "node-llama-cpp-$NLC_VERSION.tgz" package/llama/gitRelease.bundle
git clone -q package/llama/gitRelease.bundle src
rm -rf package
log "configuring llama.cpp ($(git -C src rev-parse --short HEAD))"
cmake -S src -B build "${FLAGS[@]}" -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_RPATH="$PREFIX/lib" >&2
log "building (a few minutes on 2 cores; cached afterwards in $DIR)"
cmake --build build -j"$(nproc)" >&2
cmake --install build >&2
# Vocab-only GGUF files seed the tiny-model generator's tokenizers.
mkdir -p "$PREFIX/share/llama.cpp/vocab"
cp src/models/ggml-vocab-*.gguf "$PREFIX/share/llama.cpp/vocab/"
# Chat templates of real model families, for template golden tests.
[ -d src/models/templates ] && cp -r src/models/templates "$PREFIX/share/llama.cpp/"
touch "$DIR/.done"
echo "$PREFIX"
