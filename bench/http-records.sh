#!/usr/bin/env bash
# GET /v1/records?limit=50 as a zone rep through `comarca serve` (wrk), against pgbench replaying
# the identical SQL the service sends for that request (its authentication transaction and its
# list transaction, rendered by comarca-bench pgbench-script), same connections, same run.
#   bench/http-records.sh [seconds=10] [connections=8]
# Data: BENCH_TENANTS x BENCH_ZONES zones x BENCH_RECORDS records (default 100 x 50 x 10000 = 1M),
# generated once by bench/generate.sql.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-8}
PORT=${BENCH_PORT:-18090}
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)"; exit 1; }
eval "$(deploy/dev db 2>/dev/null)"

swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --product comarca >/dev/null
swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --product comarca-bench >/dev/null
bin="$(swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --show-bin-path)"
"$bin/comarca" migrate >/dev/null

tenants=${BENCH_TENANTS:-100} zones=${BENCH_ZONES:-50} records=${BENCH_RECORDS:-10000}
echo "bench: data set $tenants tenants x $zones zones x $records records (generated if missing)"
psql "$DATABASE_URL" -Xq -v tenants="$tenants" -v zones="$zones" -v records="$records" -f bench/generate.sql >/dev/null

token=$("$bin/comarca" token create bench-1 rep1@bench-1.test --name "bench $(date +%s)" --days 1 | grep -o 'cmk_[A-Za-z0-9_-]*' | head -1)
script=$(mktemp)
"$bin/comarca-bench" pgbench-script "$token" >"$script"

LOG_LEVEL=${BENCH_LOG_LEVEL:-info} COMARCA_HTTP_PORT=$PORT "$bin/comarca" serve --pool-size "$CONNECTIONS" >/tmp/comarca-bench-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$script"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/v1/records?limit=50" -H "Authorization: Bearer $token" | head -c 200; echo

echo "bench: warm-up"
wrk -t2 -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/v1/records?limit=50" >/dev/null
echo "bench: wrk ${DURATION}s, $CONNECTIONS connections"
http=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/v1/records?limit=50")
echo "$http" | grep -E "Requests/sec|  50%|  99%|Non-2xx" || true
kill $server; wait $server 2>/dev/null || true
trap 'rm -f "$script"' EXIT

echo "bench: pgbench ${DURATION}s, $CONNECTIONS clients, the same SQL"
# -M prepared: the service prepares its statements too, so pgbench gets the same planning savings.
pg=$(pgbench "$COMARCA_APP_DATABASE_URL" -n -M prepared -c "$CONNECTIONS" -j 2 -T "$DURATION" -f "$script" 2>&1)
echo "$pg" | grep -E "^tps|latency average"
http_rps=$(echo "$http" | awk '/Requests\/sec/ {print $2}')
pg_tps=$(echo "$pg" | awk '/^tps/ {print $3}')
awk -v h="$http_rps" -v p="$pg_tps" 'BEGIN { printf "ratio HTTP / pgbench: %.2f (%.0f req/s vs %.0f tx/s)\n", h / p, h, p }'
