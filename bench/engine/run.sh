#!/usr/bin/env bash
# SMMF's llama.cpp engine vs llama-server (same pinned build) on a ~124.6M-parameter random-weight
# model: streaming chat throughput and time to first token at several concurrencies, plus a
# multi-turn run. Not part of `make test`. Takes a few minutes; results go to stdout.
#
#   bench/engine/run.sh [extra bench.mjs flags, e.g. --reps 3 --threads 2 --parallel 16]
#
# Environment: BUILD (default build), the SMMF build tree with src/smmf and make_tiny_model.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PREFIX=$(scripts/build_llama.sh)
LLAMA_SERVER="$PREFIX/bin/llama-server"
[ -x "$LLAMA_SERVER" ] || { echo "no llama-server at $LLAMA_SERVER" >&2; exit 1; }
[ -x "$BUILD/src/smmf" ] || { echo "build SMMF first ($BUILD/src/smmf missing)" >&2; exit 1; }
TOOL="$BUILD/tools/make_tiny_model/make_tiny_model"
[ -x "$TOOL" ] || { echo "make_tiny_model missing at $TOOL" >&2; exit 1; }

# SmolLM2-135M shape: d576, 30 layers, 9 heads / 3 KV heads, ffn 1536, tied embeddings, f16
# (124.6M parameters, 238 MiB). Random weights; the tool zeroes the embeddings of byte tokens
# that are not valid UTF-8 alone, so greedy output stays text.
MODEL="$BUILD/bench/smol-124m-f16.gguf"
if [ ! -f "$MODEL" ]; then
  mkdir -p "$(dirname "$MODEL")"
  "$TOOL" --arch llama --out "$MODEL" --seed 7 --name bench-smol-124m --type f16 \
    --n-embd 576 --n-layer 30 --n-head 9 --n-head-kv 3 --n-ff 1536 --n-ctx 8192 --tie-embeddings
fi

exec node bench/engine/bench.mjs --smmf "$BUILD/src/smmf" --llama-server "$LLAMA_SERVER" \
  --model "$MODEL" "$@"
