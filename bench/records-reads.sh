#!/usr/bin/env bash
# Reads and conversions for the records issue, measured in one run:
#  - a zone rep of a 10k-record tenant (the 100 x 50 x 10k data set): latest-50 list under RLS vs
#    the same SQL with policies bypassed (superuser), searches (by kind of term, with the strategy
#    RecordQuery chose for each), conversions;
#  - the admin of a tenant with BIG_RECORDS (default 1M) records: the same, tenant-wide.
#   bench/records-reads.sh [iterations=300]
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS=${1:-300}
eval "$(deploy/dev db 2>/dev/null)"
[[ -n ${COMARCA_SUPERUSER_URL:-} ]] || { echo "bench: needs COMARCA_SUPERUSER_URL (the private cluster sets it)"; exit 1; }
swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --product comarca >/dev/null
swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --product comarca-bench >/dev/null
bin="$(swift build -c release ${BENCH_SCRATCH_PATH:+--scratch-path "$BENCH_SCRATCH_PATH"} --show-bin-path)"
"$bin/comarca" migrate >/dev/null

echo "bench: data sets (generated when missing)"
time psql "$DATABASE_URL" -Xq -v tenants="${BENCH_TENANTS:-100}" -v zones="${BENCH_ZONES:-50}" -v records="${BENCH_RECORDS:-10000}" -f bench/generate.sql >/dev/null
time psql "$DATABASE_URL" -Xq -v prefix=big -v tenants=1 -v zones=50 -v records="${BIG_RECORDS:-1000000}" -f bench/generate.sql >/dev/null
psql "$COMARCA_SUPERUSER_URL" -Xqc "VACUUM ANALYZE records, record_search_tokens" >/dev/null

token() { "$bin/comarca" token create "$1" "$2" --name "bench $(date +%s%N)" --days 1 | grep -o 'cmk_[A-Za-z0-9_-]*' | head -1; }
echo
echo "== rep of zone Z1, tenant bench-1 (10k records, 200 in the zone)"
"$bin/comarca-bench" reads "$(token bench-1 rep1@bench-1.test)" "$ITERATIONS"
echo
echo "== rep of zone Z1, tenant big-1 (${BIG_RECORDS:-1000000} records)"
"$bin/comarca-bench" reads "$(token big-1 rep1@big-1.test)" "$ITERATIONS"
echo
echo "== admin, tenant big-1 (${BIG_RECORDS:-1000000} records, whole tenant)"
"$bin/comarca-bench" reads "$(token big-1 admin@big-1.test)" "$ITERATIONS"
