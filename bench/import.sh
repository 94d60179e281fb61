#!/usr/bin/env bash
# Imports end to end against PostgreSQL's own COPY, in the same run, on the same rows:
#   bench/import.sh [csv_rows=1000000] [xlsx_rows=200000]
# - a Spanish-Excel CSV (`;`, decimal commas, dd/mm/yyyy) of realistic records → `comarca import run`
#   (parse, validate, zone, dedupe, upsert by external id) into the real schema with RLS on: a dry
#   run, then the real run; rows/s and peak RSS (/usr/bin/time -v);
# - the same rows as an .xlsx workbook (written by comarca-bench), imported the same way;
# - `psql \copy` of the same CSV into a table of the same columns without RLS: rows/s;
# - `psql \copy` of the rows the import stored (records, search tokens, lifecycle events) into
#   tables of the same shape (same indexes and checks) without RLS: rows/s;
# and prints the ratios. Uses its own database (comarca_importbench), dropped and created each run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
XLSX_ROWS=${2:-200000}
eval "$(deploy/dev db 2>/dev/null)"
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time is missing (apt-get install time)"; exit 1; }

scratch=${BENCH_SCRATCH_PATH:-.build-release}
swift build -c release --scratch-path "$scratch" --product comarca >/dev/null
swift build -c release --scratch-path "$scratch" --product comarca-bench >/dev/null
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"

db=comarca_importbench
url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.scheme + "://" + p.netloc + "/" + sys.argv[2] + ("?" + p.query if p.query else ""))' "$DATABASE_URL" "$db")
psql "$DATABASE_URL" -Xq -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
"$bin/comarca" migrate --database-url "$url" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for slug in bench-csv bench-xlsx bench-dry; do
    sed "s/SLUG/$slug/" bench/import/tenant.yaml >"$work/$slug.yaml"
    "$bin/comarca" tenant apply "$work/$slug.yaml" --database-url "$url" >/dev/null
done

echo "bench: generating $ROWS CSV rows and $XLSX_ROWS XLSX rows"
awk -v rows="$ROWS" -f bench/import/generate-csv.awk >"$work/records.csv"
awk -v rows="$XLSX_ROWS" -f bench/import/generate-csv.awk >"$work/records-small.csv"
"$bin/comarca-bench" xlsx-from-csv "$work/records-small.csv" "$work/records.xlsx"
ls -l "$work"/records.csv "$work"/records.xlsx | awk '{print "bench: " $9 " " $5 " bytes"}'

# rows/s and peak RSS of one command; prints "seconds rss_kib".
measure() {
    local out=$work/time.txt
    /usr/bin/time -v "$@" >"$work/stdout.txt" 2>"$out" || { cat "$work/stdout.txt" "$out" | tail -30; exit 1; }
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = (n == 3) ? p[1] * 3600 + p[2] * 60 + p[3] : p[1] * 60 + p[2] }
                /Maximum resident set size/ { rss = $2 } END { printf "%.3f %d\n", s, rss }' "$out"
}

copy_table() {
    psql "$url" -Xq -c "DROP TABLE IF EXISTS copy_target" -c "CREATE TABLE copy_target (external_id text, first_name text,
        last_name text, company_name text, email text, phone text, tax_id text, sector text, facturacion text,
        fecha_alta text, cp text, empleados text, zona text)"
}

echo "bench: psql \\copy of the CSV ($ROWS rows) into a plain table"
copy_table
read -r copy_s _ < <(measure psql "$url" -Xq -c "\\copy copy_target FROM '$work/records.csv' WITH (FORMAT csv, HEADER, DELIMITER ';')")
echo "bench: psql \\copy of the XLSX rows as CSV ($XLSX_ROWS rows)"
copy_table
read -r copy_small_s _ < <(measure psql "$url" -Xq -c "\\copy copy_target FROM '$work/records-small.csv' WITH (FORMAT csv, HEADER, DELIMITER ';')")

run_import() { # slug file extra-args...
    local slug=$1 file=$2; shift 2
    measure "$bin/comarca" import run "$slug" --entity records --file "$file" --mode upsert --match external_id --database-url "$url" "$@"
}
echo "bench: comarca import, CSV dry run"
read -r dry_s dry_rss < <(run_import bench-dry "$work/records.csv" --dry-run)
echo "bench: comarca import, CSV"
read -r csv_s csv_rss < <(run_import bench-csv "$work/records.csv")
# The second baseline: the rows the import stored, COPYed by PostgreSQL into tables of the same
# shape (LIKE … INCLUDING ALL: same columns, indexes, checks and defaults; no RLS, no triggers,
# no foreign keys): the records, their search tokens and their lifecycle events, which is what
# an import of records has to write. Measured on the rows the CSV import just wrote.
echo "bench: psql \\copy of the imported rows into tables of the records' shape"
psql "$url" -Xq -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT set_config('comarca.tenant_id', (SELECT tenant_id::text FROM tenants WHERE slug = 'bench-csv'), false),
       set_config('comarca.scope', 'tenant', false);
\\copy (SELECT * FROM records) TO '$work/shape-records.copy'
\\copy (SELECT * FROM record_search_tokens) TO '$work/shape-tokens.copy'
\\copy (SELECT * FROM record_events) TO '$work/shape-events.copy'
DROP TABLE IF EXISTS shape_records, shape_tokens, shape_events;
CREATE TABLE shape_records (LIKE records INCLUDING ALL);
CREATE TABLE shape_tokens (LIKE record_search_tokens INCLUDING ALL);
CREATE TABLE shape_events (LIKE record_events INCLUDING ALL);
SQL
cat >"$work/shape.sql" <<SQL
\\copy shape_records FROM '$work/shape-records.copy'
\\copy shape_tokens FROM '$work/shape-tokens.copy'
\\copy shape_events FROM '$work/shape-events.copy'
SQL
read -r shape_s _ < <(measure psql "$url" -Xq -v ON_ERROR_STOP=1 -f "$work/shape.sql")
shape_rows=$(psql "$url" -XAtq -c "SELECT count(*) FROM shape_records")
token_rows=$(psql "$url" -XAtq -c "SELECT count(*) FROM shape_tokens")
psql "$url" -Xq -c "DROP TABLE shape_records, shape_tokens, shape_events" >/dev/null
echo "bench: $shape_rows records, $token_rows search tokens"

echo "bench: comarca import, XLSX"
read -r xlsx_s xlsx_rss < <(run_import bench-xlsx "$work/records.xlsx")
echo "bench: comarca import, CSV again (upsert of the same file: everything skipped)"
read -r again_s _ < <(run_import bench-csv "$work/records.csv")

awk -v n="$ROWS" -v m="$XLSX_ROWS" -v c="$copy_s" -v cs="$copy_small_s" -v d="$dry_s" -v dr="$dry_rss" \
    -v sh="$shape_s" -v sr="$shape_rows" -v i="$csv_s" -v ir="$csv_rss" -v x="$xlsx_s" -v xr="$xlsx_rss" -v a="$again_s" 'BEGIN {
    printf "\n%-34s %10s %12s %10s %12s\n", "", "seconds", "rows/s", "peak MiB", "vs COPY"
    printf "%-34s %10.2f %12.0f %10s %12s\n", "psql \\copy CSV (" n " rows)", c, n / c, "-", "1.00"
    printf "%-34s %10.2f %12.0f %10.0f %12.2f\n", "import CSV dry run", d, n / d, dr / 1024, c / d
    printf "%-34s %10.2f %12.0f %10.0f %12.2f\n", "import CSV (upsert, RLS)", i, n / i, ir / 1024, c / i
    printf "%-34s %10.2f %12.0f %10s %12.2f\n", "import CSV again (all skipped)", a, n / a, "-", c / a
    printf "%-34s %10.2f %12.0f %10s %12s\n", "psql \\copy into records shape", sh, sr / sh, "-", "1.00"
    printf "%-34s %10.2f %12.0f %10s %12.2f\n", "import CSV vs records shape", i, n / i, "-", (sr / sh > 0) ? (n / i) / (sr / sh) : 0
    printf "%-34s %10.2f %12.0f %10s %12s\n", "psql \\copy CSV (" m " rows)", cs, m / cs, "-", "1.00"
    printf "%-34s %10.2f %12.0f %10.0f %12.2f\n", "import XLSX (" m " rows)", x, m / x, xr / 1024, cs / x
    printf "\n(records shape: the stored records, their search tokens and lifecycle events COPYed into tables\n"
    printf " with the same columns, indexes and checks, without RLS, triggers or foreign keys)\n"
    printf "\ntargets: CSV >= 0.70x COPY, XLSX >= 0.40x COPY, peak RSS < 200 MiB, dry run at least as fast as the real run\n"
}'
