#!/usr/bin/env bash
# The scheduler's benchmarks (docs/BENCHMARKS.md, "Orchestration"):
#
#   bench/schedule/run.sh overhead [--tasks N] [--days D] [--concurrency C]
#       the scheduler's own cost per task run: no-op tasks on a simulated
#       clock, the real SQLite registry (larder_bench_schedule_overhead)
#   bench/schedule/run.sh cycle [--scale S] [--dir DIR]
#       the example's daily cycle (its two models, their data tests, then
#       every online view's materialization) as one `larder backfill`
#       interval with every view and model on @daily; then, when the Airflow
#       venv exists (scripts/airflow_venv.sh), the same work through the
#       generated Airflow DAG with `airflow dags test`; and the memory of an
#       idle `larder schedule`
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
mode="${1:-cycle}"
shift || true

if [ "$mode" = overhead ]; then
  bench="$build/larder_bench_schedule_overhead"
  [ -x "$bench" ] || { echo "build it first: scripts/build.sh larder_bench_schedule_overhead" >&2; exit 1; }
  exec "$bench" "$@"
fi
[ "$mode" = cycle ] || { echo "usage: $0 overhead|cycle [options]" >&2; exit 2; }

scale=1.0
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
larder="$build/larder"
[ -x "$larder" ] || { echo "build it first: scripts/build.sh larder_cli" >&2; exit 1; }
if [ -z "$dir" ]; then
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi
repo="$dir/repo"
rm -rf "$repo"
day_end="$(date -u +%Y-%m-%dT00:00:00Z)"
day_start="$(date -u -d "$day_end - 1 day" +%Y-%m-%dT00:00:00Z)"
"$larder" init "$repo" --template book_recs >/dev/null
# Every model and online view on @daily (views reading a model inherit it).
python3 - "$repo" <<'EOF'
import pathlib, re, sys
repo = pathlib.Path(sys.argv[1])
models = repo / "models" / "models.yaml"
text = models.read_text()
text = re.sub(r"(\n  - name: (\w+)\n)", r"\1    batch_schedule: '@daily'\n", text)
models.write_text(text)
views = repo / "feature_views.yaml"
text = views.read_text()
out = []
for block in re.split(r"(?=\n  - name: )", text):
    if "source: avg_book_category_ratings_source" not in block and \
       "source: bucketed_age_source" not in block and "\n  - name: " in block:
        block = block.rstrip("\n") + "\n    batch_schedule: '@daily'\n"
    out.append(block)
views.write_text("".join(out))
EOF
echo "== data: scale $scale, ending $day_end"
"$larder" -c "$repo" demo-data --scale "$scale" --end "$day_end" >/dev/null
"$larder" -c "$repo" apply >/dev/null

echo "== larder backfill of the daily interval ending $day_end"
start_ns=$(date +%s%N)
"$larder" -c "$repo" backfill --start "$day_start" --end "$day_end" --parallel 2
end_ns=$(date +%s%N)
wall=$(( (end_ns - start_ns) / 1000000 ))
echo "larder: daily cycle wall time ${wall} ms"
"$larder" -c "$repo" runs --limit 0

echo "== larder schedule at idle, on a fresh copy: before and after it runs the daily cycle"
repo3="$dir/repo_schedule"
rm -rf "$repo3"
cp -r "$repo" "$repo3"
rm -rf "$repo3/data/online_store" "$repo3/data/registry.db" "$repo3/data/offline_store.duckdb"
"$larder" -c "$repo3" apply >/dev/null
"$larder" -c "$repo" schedule >"$dir/schedule_idle.log" 2>&1 &
pid=$!
sleep 3
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true
"$larder" -c "$repo3" schedule >"$dir/schedule.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  n=$("$larder" -c "$repo3" runs --status success --limit 0 | grep -c " success " || true)
  [ "$n" -ge 9 ] && break
  sleep 0.5
done
sleep 5
sleep 10  # jemalloc returns freed pages after its decay time (10 s)
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
anon_after=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true
echo "larder schedule idle RSS: $((rss_before / 1024)) MiB with nothing due yet; $((rss_after / 1024)) MiB after running the $n daily tasks, of which $((anon_after / 1024)) MiB anonymous (the rest: pages of the larder binary)"

venv="$root/third_party/airflow_venv"
if [ ! -x "$venv/bin/airflow" ]; then
  echo "== airflow: skipped ($venv missing: run scripts/airflow_venv.sh)"
  exit 0
fi
echo "== the generated Airflow DAG on a fresh copy (airflow dags test)"
repo2="$dir/repo_airflow"
rm -rf "$repo2"
cp -r "$repo" "$repo2"
rm -rf "$repo2/data/online_store" "$repo2/data/registry.db" "$repo2/data/offline_store.duckdb"
"$larder" -c "$repo2" apply >/dev/null
dags="$dir/dags"
"$larder" -c "$repo2" airflow-dag --out "$dags" --start-date "$day_start"
export AIRFLOW_HOME="$dir/airflow_home" AIRFLOW__CORE__LOAD_EXAMPLES=False \
  AIRFLOW__CORE__DAGS_FOLDER="$dags"
"$venv/bin/airflow" db migrate >/dev/null 2>&1
start_ns=$(date +%s%N)
for dag_file in "$dags"/*.py; do
  dag_id="$(basename "$dag_file" .py)"
  "$venv/bin/airflow" dags test "$dag_id" "$day_start" >>"$dir/airflow.log" 2>&1 || {
    tail -50 "$dir/airflow.log" >&2; exit 1; }
done
end_ns=$(date +%s%N)
echo "airflow: daily cycle wall time $(( (end_ns - start_ns) / 1000000 )) ms (dags test, SQLite)"
