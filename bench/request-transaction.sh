#!/usr/bin/env bash
# Measures the cost of one service read transaction (BEGIN, four SET LOCAL settings, "latest 50
# records in my zone", COMMIT) sent by PGClient, pipelined and one statement at a time, against
# pgbench running the identical SQL on the same server, same clients, same duration, same run.
#   bench/request-transaction.sh [seconds=10] [clients=4]
# Data set: BENCH_TENANTS (default 100) x BENCH_ZONES (50) zones x BENCH_RECORDS (10000) records,
# generated once by bench/generate.sql (1M records by default).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
CLIENTS=${2:-4}
eval "$(deploy/dev db 2>/dev/null)"

tenants=${BENCH_TENANTS:-100} zones=${BENCH_ZONES:-50} records=${BENCH_RECORDS:-10000}
have=$(psql "$DATABASE_URL" -XAtc "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'records'")
[[ $have == 1 ]] || { echo "bench: run comarca migrate first (deploy/dev run does)"; exit 1; }
echo "bench: generating data ($tenants tenants x $zones zones x $records records) if missing..."
psql "$DATABASE_URL" -Xq -v tenants="$tenants" -v zones="$zones" -v records="$records" -f bench/generate.sql

tenant=$(psql "$DATABASE_URL" -XAtc "SELECT md5('bench-tenant-1')::uuid")
zone=$(psql "$DATABASE_URL" -XAtc "SELECT md5('bench-zone-1-1')::uuid")

script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat >"$script" <<SQL
BEGIN;
SET LOCAL comarca.tenant_id = '$tenant';
SET LOCAL comarca.user_id = '';
SET LOCAL comarca.scope = 'zones';
SET LOCAL comarca.zone_ids = '{$zone}';
SELECT record_id, display_name, stage, email, updated_at FROM records WHERE tenant_id = '$tenant' AND zone_id = '$zone' ORDER BY updated_at DESC, record_id DESC LIMIT 50;
COMMIT;
SQL

swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --product comarca-bench >/dev/null
bench_bin="$(swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --show-bin-path)/comarca-bench"

pgbench_tps() { # mode
    pgbench "$COMARCA_APP_DATABASE_URL" -n -M "$1" -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" -f "$script" -r 2>&1 |
        awk '/^tps/ {print $3} /latency average/ {lat=$4} END {}'
}

echo "bench: $CLIENTS clients, ${SECONDS_PER_RUN}s per run"
ext=$(pgbench_tps extended | head -1)
simple=$(pgbench_tps simple | head -1)
pipelined=$("$bench_bin" --mode pipelined --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --tenant "$tenant" --zone "$zone")
sequential=$("$bench_bin" --mode sequential --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --tenant "$tenant" --zone "$zone")
echo "pgbench -M extended : $ext tps"
echo "pgbench -M simple   : $simple tps"
echo "PGClient pipelined  : $pipelined"
echo "PGClient sequential : $sequential"
ptps=$(sed -E 's/.*"tps":([0-9.]+).*/\1/' <<<"$pipelined")
stps=$(sed -E 's/.*"tps":([0-9.]+).*/\1/' <<<"$sequential")
awk -v p="$ptps" -v s="$stps" -v e="$ext" -v m="$simple" 'BEGIN {
    printf "ratio pipelined / pgbench extended  : %.2f\n", p / e
    printf "ratio pipelined / pgbench simple    : %.2f\n", p / m
    printf "ratio sequential / pgbench extended : %.2f\n", s / e
}'
