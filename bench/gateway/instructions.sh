#!/usr/bin/env bash
# User-space instructions per request of `smmf serve` (threads = 1, one openai_compat model in
# front of mock_upstream), measured with callgrind: independent of the machine's load, unlike
# req/s or CPU time. Warms up for 3 s, counts over SECONDS of wrk, prints Ir / requests.
# Usage: bench/gateway/instructions.sh [json|stream] [CONNECTIONS=16] [SECONDS=10]
# Environment: BUILD=build, SMMF=$BUILD/src/smmf (e.g. another build to compare), OUT=callgrind
# output file (default: a temporary one; keep it for callgrind_annotate), TRACE=1 to export every
# span to JSONL files (an [observability] trace_dir; the default config exports none).
# Needs valgrind and wrk. Everything on 127.0.0.1; the processes started are killed by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SMMF=${SMMF:-$BUILD/src/smmf}
MOCK=$BUILD/bench/gateway/mock_upstream
LUA=$ROOT/bench/gateway/chat.lua
MODE=${1:-json} C=${2:-16} D=${3:-10}
T=$(mktemp -d /tmp/smmf-instr.XXXXXX)
OUT=${OUT:-$T/callgrind.out}
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done; rm -rf "$T"' EXIT
wait_for() { for _ in $(seq 600); do grep -q "$2" "$1" && return 0; sleep 0.1; done; return 1; }
"$MOCK" --chunks 50 > "$T/mock.log" 2>&1 &
PIDS+=($!)
wait_for "$T/mock.log" 'listening on'
UP=$(grep -oE 'listening on [0-9]+' "$T/mock.log" | grep -oE '[0-9]+$')
printf '[server]\nhost = "127.0.0.1"\nport = 0\nthreads = 1\n[[models]]\nname = "mock"\nengine = "openai_compat"\nparams = { base_url = "http://127.0.0.1:%s/v1" }\n' \
  "$UP" > "$T/serve.toml"
[ "${TRACE:-0}" = 1 ] && printf '[observability]\ntrace_dir = "%s/traces"\n' "$T" >> "$T/serve.toml"
valgrind --tool=callgrind --callgrind-out-file="$OUT" --instr-atstart=no \
  "$SMMF" serve --config "$T/serve.toml" > "$T/serve.log" 2>&1 &
SP=$!
PIDS+=($SP)
wait_for "$T/serve.log" 'listening on http'
PORT=$(grep -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$T/serve.log" | head -1 | grep -oE '[0-9]+$')
S=0
[ "$MODE" = stream ] && S=1
URL=http://127.0.0.1:$PORT/v1/chat/completions
STREAM=$S wrk -t1 -c"$C" -d3s --timeout 20s -s "$LUA" "$URL" > /dev/null
callgrind_control -i on "$SP" > /dev/null 2>&1
R=$(STREAM=$S wrk -t1 -c"$C" -d"${D}"s --timeout 20s -s "$LUA" "$URL" | grep '^RESULT')
callgrind_control -i off "$SP" > /dev/null 2>&1
eval "${R#RESULT }"  # requests= seconds= rps= p50= p99= errors= status_errors=
kill "$SP"
wait "$SP" 2> /dev/null || true
IR=$(callgrind_annotate "$OUT" 2> /dev/null | awk '/PROGRAM TOTALS/ && !f {gsub(",", "", $1); print $1; f = 1}')
echo "$MODE c=$C requests=$requests errors=$errors/$status_errors instructions=$IR per_request=$((IR / requests))"
