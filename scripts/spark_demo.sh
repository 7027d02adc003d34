#!/usr/bin/env bash
# The book-recommendation example on Spark, as the workshop runs it: the
# Hive tables book_recsys_apply.{users,books,ratings} as sources, the
# workshop's spark_conf and `batch_engine: spark.engine`
# (examples/book_recs_spark/). It installs what is missing, builds Larder,
# copies the repo into demo_spark/, generates its data, starts a local Spark
# Connect server whose Hive metastore (embedded Derby) and warehouse live in
# demo_spark/data/spark, creates the Hive tables from the data, then runs
# larder plan, apply, run, test, historical, materialize-incremental and
# online on Spark. The server stops when the script ends.
#   SCALE=0.1 SPARK_PORT=15002 scripts/spark_demo.sh
#   SPARK_REMOTE=sc://host:15002 scripts/spark_demo.sh   (a server of your own,
#                                     whose executors can read demo_spark/data/raw)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scale="${SCALE:-0.1}"
repo="${DEMO_DIR:-$root/demo_spark}"
port="${SPARK_PORT:-15002}"

"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh" larder_cli
"$root/scripts/spark.sh" install
larder="$root/build/larder"
python="$root/third_party/spark_venv/bin/python"

step() { printf '\n==> %s\n' "$*"; }

step "Copying examples/book_recs_spark into $repo"
mkdir -p "$repo/models"
cp "$root"/examples/book_recs_spark/*.yaml "$repo/"
cp "$root"/examples/book_recs_spark/models/* "$repo/models/"

stamp="$repo/data/raw/.demo-data"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "scale $scale" ]; then
  step "Demo data at scale $scale is present"
else
  rm -rf "$repo/data"
  step "Generating demo data at scale $scale"
  "$larder" -c "$repo" demo-data --scale "$scale" --out "$repo/data/raw"
  echo "scale $scale" > "$stamp"
fi

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
if [ -z "${SPARK_REMOTE:-}" ]; then
  step "Starting a Spark Connect server on 127.0.0.1:$port (stopped when the demo ends)"
  SPARK_DATA_DIR="$repo/data/spark" "$root/scripts/spark.sh" server "$port" \
    > "$repo/data/spark.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    grep -q "Spark Connect server started" "$repo/data/spark.log" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  if ! grep -q "Spark Connect server started" "$repo/data/spark.log"; then
    cat "$repo/data/spark.log" >&2
    echo "the Spark Connect server did not start on 127.0.0.1:$port" >&2
    exit 1
  fi
  export SPARK_REMOTE="sc://127.0.0.1:$port"
fi

step "Creating the Hive tables book_recsys_apply.* on $SPARK_REMOTE"
"$python" "$root/examples/book_recs_spark/create_hive_tables.py" --remote "$SPARK_REMOTE" \
  --data "$repo/data/raw" 2> >(grep -v -e FutureWarning -e require_minimum_pandas_version >&2)

step "larder plan (schemas read through Spark)"
"$larder" -c "$repo" plan
step "larder apply"
"$larder" -c "$repo" apply
step "larder run: the SQL models as tables of the Spark database larder_book_recs_spark"
"$larder" -c "$repo" run
step "larder test: the models' data tests, on Spark"
"$larder" -c "$repo" test

step "larder historical: a model_v4 training set, every rating an entity row (Spark SQL)"
"$larder" -c "$repo" historical \
  --entity-sql "SELECT user_id, isbn, rating_timestamp AS event_timestamp, rating FROM book_recsys_apply.ratings" \
  --feature-service model_v4 --output "$repo/data/training/model_v4.parquet"

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
step "larder materialize-incremental: latest rows and tiles computed by Spark, into RocksDB"
"$larder" -c "$repo" materialize-incremental "$now"

step "larder online: model_v4 features of the latest rating's user and book"
"$larder" -c "$repo" historical \
  --entity-sql "SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM book_recsys_apply.ratings ORDER BY rating_timestamp DESC, user_id, isbn LIMIT 1" \
  --features book_features:language --output "$repo/data/training/latest_pair.csv" > /dev/null
pair=$(sed -n 2p "$repo/data/training/latest_pair.csv")
user=${pair%%,*}
isbn=${pair#*,}
isbn=${isbn%%,*}
"$larder" -c "$repo" online --feature-service model_v4 --entity "user_id=$user" --entity "isbn=$isbn"

printf '\nDone. Training data: %s\n' "$repo/data/training/model_v4.parquet"
