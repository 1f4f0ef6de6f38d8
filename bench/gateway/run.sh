#!/usr/bin/env bash
# Gateway benchmark: is SMMF ever the bottleneck in front of an instant upstream?
#
# Starts a mock OpenAI upstream (mock_upstream, C++), nginx as a plain reverse proxy to it,
# `smmf serve` with one openai_compat model pointing at it, and the cluster path (apiserver ->
# worker -> upstream), then measures each with wrk side by side (targets alternated for every
# concurrency): requests/s, p50 and p99 latency, RSS. The process under test runs on core
# $SUT_CORE; wrk, the upstream and the controller on core $LOAD_CORE. Then: start-to-ready time
# and idle RSS with no models, and N slow streams held open (RSS, latency of a request meanwhile).
# Writes $OUT/results.tsv and $OUT/summary.md (also printed). Needs wrk and nginx
# (`make bench-deps`). Everything listens on 127.0.0.1; every process is killed by PID on exit.
#
# Knobs (environment): DURATION=5 (s per wrk run), CONCURRENCY="1 16 128", ROUNDS=1,
# TARGETS="upstream nginx smmf cluster", MODES="json stream", OPEN_STREAMS=10000 (0 = skip),
# HOLD_SECONDS=20, SUT_CORE=0, LOAD_CORE=1, BUILD=build, OUT=$BUILD/bench-gateway.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DURATION=${DURATION:-5}
CONCURRENCY=${CONCURRENCY:-"1 16 128"}
ROUNDS=${ROUNDS:-1}
TARGETS=${TARGETS:-"upstream nginx smmf cluster"}
MODES=${MODES:-"json stream"}
OPEN_STREAMS=${OPEN_STREAMS:-10000}
HOLD_SECONDS=${HOLD_SECONDS:-20}
SUT_CORE=${SUT_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
OUT=${OUT:-$BUILD/bench-gateway}
SMMF=$BUILD/src/smmf
MOCK=$BUILD/bench/gateway/mock_upstream
HOLDER=$BUILD/bench/gateway/stream_holder
LUA=$ROOT/bench/gateway/chat.lua
PATH_CHAT=/v1/chat/completions

for tool in wrk nginx taskset curl python3; do
  command -v $tool > /dev/null || { echo "run.sh: $tool not found (make bench-deps)" >&2; exit 2; }
done
for bin in "$SMMF" "$MOCK" "$HOLDER"; do
  [ -x "$bin" ] || { echo "run.sh: $bin not built (cmake --build $BUILD --target gateway_bench)" >&2; exit 2; }
done

mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/smmf-gwbench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_line FILE REGEX [SECONDS]: prints the first match of REGEX (grep -E) in FILE.
wait_line() {
  local file=$1 re=$2 t=${3:-30} i
  for ((i = 0; i < t * 50; i++)); do
    if grep -qE "$re" "$file" 2> /dev/null; then
      grep -oE "$re" "$file" | head -1
      return 0
    fi
    sleep 0.02
  done
  echo "run.sh: timed out waiting for /$re/ in $file:" >&2
  tail -5 "$file" >&2
  return 1
}
# rss_kb PID...: the summed VmRSS of the processes.
rss_kb() {
  local sum=0 p v
  for p in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2> /dev/null || echo 0)
    sum=$((sum + ${v:-0}))
  done
  echo $sum
}
# cpu_ticks PID...: summed user+system CPU time in clock ticks (see getconf CLK_TCK).
cpu_ticks() {
  local sum=0 p v
  for p in "$@"; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2> /dev/null || echo 0)
    sum=$((sum + ${v:-0}))
  done
  echo $sum
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))
children() { pgrep -P "$1" || true; }
post_ok() { # post_ok PORT: one non-streaming chat call answered 200
  curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"model":"mock","messages":[{"role":"user","content":"hi"}]}' \
    "http://127.0.0.1:$1$PATH_CHAT" 2> /dev/null | grep -q 200
}
wait_post_ok() {
  local i
  for ((i = 0; i < 1500; i++)); do post_ok "$1" && return 0; sleep 0.02; done
  echo "run.sh: port $1 never answered a chat call" >&2
  return 1
}
smmf_model_toml() { # smmf_model_toml UPSTREAM_PORT
  printf '[[models]]\nname = "mock"\nengine = "openai_compat"\nparams = { base_url = "http://127.0.0.1:%s/v1" }\n' "$1"
}
server_toml() {
  printf '[server]\nhost = "127.0.0.1"\nport = 0\nthreads = 1\nmax_connections = 30000\n'
}
# start_smmf NAME CORE ARGS...: runs smmf pinned, waits for its listening line, sets STARTED_PID
# and STARTED_PORT.
start_smmf() {
  local name=$1 core=$2
  shift 2
  taskset -c "$core" "$SMMF" "$@" > "$TMP/$name.log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  STARTED_PORT=$(wait_line "$TMP/$name.log" 'listening on http://127\.0\.0\.1:[0-9]+' | grep -oE '[0-9]+$')
}
start_mock() { # start_mock NAME ARGS...
  local name=$1
  shift
  taskset -c "$LOAD_CORE" "$MOCK" "$@" > "$TMP/$name.log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  STARTED_PORT=$(wait_line "$TMP/$name.log" 'listening on [0-9]+' | grep -oE '[0-9]+$')
}
write_nginx_conf() { # write_nginx_conf DIR LISTEN_PORT UPSTREAM_PORT
  mkdir -p "$1"
  cat > "$1/nginx.conf" << CONF
worker_processes 1;
daemon off;
user root root;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 10000; }
http {
  access_log $1/access.log;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
  upstream mock { server 127.0.0.1:$3; keepalive 64; }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
CONF
}

log "load: $(uptime)"
# --- processes for the throughput runs ---------------------------------------------------------
start_mock upstream --chunks 50
UP_PID=$STARTED_PID UP_PORT=$STARTED_PORT

NGX_PORT=$(free_port)
write_nginx_conf "$TMP/nginx" "$NGX_PORT" "$UP_PORT"
taskset -c "$SUT_CORE" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
NGX_PID=$!
PIDS+=("$NGX_PID")

{ server_toml; smmf_model_toml "$UP_PORT"; } > "$TMP/serve.toml"
start_smmf serve "$SUT_CORE" serve --config "$TMP/serve.toml"
SERVE_PID=$STARTED_PID SERVE_PORT=$STARTED_PORT

start_smmf controller "$LOAD_CORE" start controller --host 127.0.0.1 --port 0 --threads 1
CTL_PORT=$STARTED_PORT
{ server_toml; smmf_model_toml "$UP_PORT"; } > "$TMP/worker.toml"
start_smmf worker "$SUT_CORE" start worker --config "$TMP/worker.toml" --port 0 --id w1 \
  --controller "http://127.0.0.1:$CTL_PORT"
WORKER_PID=$STARTED_PID
server_toml > "$TMP/apiserver.toml"
start_smmf apiserver "$SUT_CORE" start apiserver --config "$TMP/apiserver.toml" --port 0 \
  --controller "http://127.0.0.1:$CTL_PORT"
API_PID=$STARTED_PID API_PORT=$STARTED_PORT

wait_post_ok "$UP_PORT"
wait_post_ok "$NGX_PORT"
wait_post_ok "$SERVE_PORT"
wait_post_ok "$API_PORT"
NGX_PIDS="$NGX_PID $(children "$NGX_PID")"

port_of() { case $1 in upstream) echo "$UP_PORT" ;; nginx) echo "$NGX_PORT" ;; smmf) echo "$SERVE_PORT" ;; cluster) echo "$API_PORT" ;; esac; }
pids_of() { case $1 in upstream) echo "$UP_PID" ;; nginx) echo "$NGX_PIDS" ;; smmf) echo "$SERVE_PID" ;; cluster) echo "$API_PID $WORKER_PID" ;; esac; }

# run_wrk TARGET MODE CONNECTIONS SECONDS: prints the RESULT fields.
run_wrk() {
  local stream=0
  [ "$2" = stream ] && stream=1
  STREAM=$stream taskset -c "$LOAD_CORE" wrk -t1 -c"$3" -d"$4"s --timeout 10s -s "$LUA" \
    "http://127.0.0.1:$(port_of "$1")$PATH_CHAT" | grep '^RESULT' | sed 's/^RESULT //'
}

RESULTS=$OUT/results.tsv
printf 'round\ttarget\tmode\tc\trps\tp50_us\tp99_us\terrors\tstatus_errors\trss_kb\tcpu_us_per_req\tload\n' > "$RESULTS"
for mode in $MODES; do
  for t in $TARGETS; do run_wrk "$t" "$mode" 16 1 > /dev/null; done  # warm pools and caches
  for ((r = 1; r <= ROUNDS; r++)); do
    for c in $CONCURRENCY; do
      for t in $TARGETS; do
        # shellcheck disable=SC2046
        cpu0=$(cpu_ticks $(pids_of "$t"))
        res=$(run_wrk "$t" "$mode" "$c" "$DURATION")
        # shellcheck disable=SC2046
        cpu1=$(cpu_ticks $(pids_of "$t"))
        # shellcheck disable=SC2046
        rss=$(rss_kb $(pids_of "$t"))
        load=$(cut -d' ' -f1 /proc/loadavg)
        eval "$res"  # requests= seconds= rps= p50= p99= errors= status_errors=
        cpu=$(((cpu1 - cpu0) * TICK_US / (requests > 0 ? requests : 1)))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$mode" "$c" "$rps" "$p50" \
          "$p99" "$errors" "$status_errors" "$rss" "$cpu" "$load" >> "$RESULTS"
        log "$mode c=$c $t: $rps req/s p50 ${p50}us p99 ${p99}us cpu ${cpu}us/req rss ${rss}kB errors $errors/$status_errors (load $load)"
      done
    done
  done
done

for p in "$NGX_PID" "$SERVE_PID" "$API_PID" "$WORKER_PID"; do kill "$p" 2> /dev/null || true; done
wait "$NGX_PID" "$SERVE_PID" "$API_PID" "$WORKER_PID" 2> /dev/null || true

# --- start-to-ready and idle RSS with no models -------------------------------------------------
STARTUP=$OUT/startup.tsv
printf 'what\tready_ms\tidle_rss_kb\n' > "$STARTUP"
server_toml > "$TMP/empty.toml"
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  taskset -c "$SUT_CORE" "$SMMF" serve --config "$TMP/empty.toml" > "$TMP/empty.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  port=$(wait_line "$TMP/empty.log" 'listening on http://127\.0\.0\.1:[0-9]+' | grep -oE '[0-9]+$')
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.001; done
  t1=$(date +%s%N)
  sleep 1
  printf 'smmf serve (no models)\t%s\t%s\n' $(((t1 - t0) / 1000000)) "$(rss_kb "$pid")" >> "$STARTUP"
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  rm -f "$TMP/empty.log"
done
for i in 1 2 3; do
  port=$(free_port)
  write_nginx_conf "$TMP/nginx-idle" "$port" "$UP_PORT"
  t0=$(date +%s%N)
  taskset -c "$SUT_CORE" nginx -p "$TMP/nginx-idle" -c "$TMP/nginx-idle/nginx.conf" -e "$TMP/nginx-idle/error.log" &
  pid=$!
  PIDS+=("$pid")
  until curl -s -o /dev/null "http://127.0.0.1:$port/nothing"; do sleep 0.001; done
  t1=$(date +%s%N)
  sleep 1
  # shellcheck disable=SC2046
  printf 'nginx (master + 1 worker)\t%s\t%s\n' $(((t1 - t0) / 1000000)) "$(rss_kb "$pid" $(children "$pid"))" >> "$STARTUP"
  kill "$pid"
  wait "$pid" 2> /dev/null || true
done
log "startup: $(tail -n +2 "$STARTUP" | tr '\t' ' ' | tr '\n' ';')"

# --- slow streams held open ---------------------------------------------------------------------
OPEN=$OUT/open_streams.tsv
printf 'streams_asked\tstreams_open\tfailed\trss_before_kb\trss_open_kb\tside_p50_ms_before\tside_max_ms_before\tside_p50_ms_open\tside_max_ms_open\tfd_limit\n' > "$OPEN"
side_latency() { # side_latency PORT: "p50 max" in ms of 20 sequential non-streaming calls
  local i
  for i in $(seq 20); do
    curl -s -o /dev/null -w '%{time_total}\n' -H 'content-type: application/json' \
      -d '{"model":"mock","messages":[{"role":"user","content":"hi"}]}' "http://127.0.0.1:$1$PATH_CHAT"
  done | sort -n | awk '{v[NR]=$1*1000} END {printf "%.2f %.2f\n", v[int((NR+1)/2)], v[NR]}'
}
if [ "$OPEN_STREAMS" -gt 0 ]; then
  # The gateway holds two sockets per relayed stream (client and upstream): the fd limit caps N.
  limit=$(ulimit -n)
  n=$OPEN_STREAMS
  [ $((2 * n + 64)) -gt "$limit" ] && n=$(((limit - 64) / 2))
  start_mock slow --chunks 100000 --interval-ms 1000
  SLOW_PORT=$STARTED_PORT
  { server_toml; smmf_model_toml "$SLOW_PORT"; } > "$TMP/slow.toml"
  start_smmf slow-serve "$SUT_CORE" serve --config "$TMP/slow.toml"
  SLOW_PID=$STARTED_PID SLOW_SERVE_PORT=$STARTED_PORT
  wait_post_ok "$SLOW_SERVE_PORT"
  read -r b50 bmax < <(side_latency "$SLOW_SERVE_PORT")
  rss0=$(rss_kb "$SLOW_PID")
  log "opening $n slow streams (fd limit $limit)"
  taskset -c "$LOAD_CORE" "$HOLDER" --port "$SLOW_SERVE_PORT" --streams "$n" --parallel 256 \
    --hold-seconds $((HOLD_SECONDS + 60)) > "$TMP/holder.log" 2>&1 &
  HOLDER_PID=$!
  PIDS+=("$HOLDER_PID")
  wait_line "$TMP/holder.log" '^open [0-9]+ failed [0-9]+' 180 > /dev/null
  read -r _ opened _ failed < <(grep '^open' "$TMP/holder.log")
  sleep "$HOLD_SECONDS"
  rss1=$(rss_kb "$SLOW_PID")
  read -r o50 omax < <(side_latency "$SLOW_SERVE_PORT")
  alive=$(grep '^alive' "$TMP/holder.log" | tail -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$opened" "$failed" "$rss0" "$rss1" \
    "$b50" "$bmax" "$o50" "$omax" "$limit" >> "$OPEN"
  log "open streams: $opened open ($failed failed, holder: $alive), RSS ${rss0}kB -> ${rss1}kB, side call p50/max ${b50}/${bmax}ms -> ${o50}/${omax}ms"
fi

python3 "$ROOT/bench/gateway/summarize.py" "$OUT" | tee "$OUT/summary.md"
