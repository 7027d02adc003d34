#!/usr/bin/env bash
# The demo: installs what is missing, builds Larder, creates the
# book-recommendation feature repo in demo/, generates its data, registers it,
# builds and tests its SQL models, writes a point-in-time correct training
# set for model_v4, reads features online, then streams a minute of ratings
# through kinesalite and `larder stream`. Run it again at any time; finished
# steps are skipped.
#   SCALE=1.0 scripts/demo.sh     (default scale 0.1: ~9k users, ~100k ratings)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scale="${SCALE:-0.1}"
repo="${DEMO_DIR:-$root/demo}"

"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh"
larder="$root/build/larder"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -f "$repo/feature_store.yaml" ]; then
  step "Creating the book_recs feature repo in $repo"
  "$larder" init "$repo" --template book_recs
fi

# The data's timeline ends at the start of the current UTC day (`larder
# demo-data`'s default), so that online reads, judged against today's clock,
# find values within their ttl. The stamp names the scale; data made with
# another scale, or by an older demo (whose stamp was data/raw/.scale), is
# made again from scratch, with the registry and stores derived from it.
stamp="$repo/data/raw/.demo-data"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "scale $scale" ]; then
  step "Demo data at scale $scale is present"
else
  if [ -f "$stamp" ] || [ -f "$repo/data/raw/.scale" ]; then
    step "Removing the demo's data made at another scale or by an older demo"
    rm -rf "$repo/data"
  fi
  step "Generating demo data at scale $scale"
  "$larder" -c "$repo" demo-data --scale "$scale"
  echo "scale $scale" > "$stamp"
fi

step "larder plan"
"$larder" -c "$repo" plan
step "larder apply"
"$larder" -c "$repo" apply
step "Registered feature views"
"$larder" -c "$repo" feature-views list
step "Registered feature services"
"$larder" -c "$repo" feature-services list

step "larder run: building the SQL models into the offline store"
"$larder" -c "$repo" run
step "larder test: the models' data tests"
"$larder" -c "$repo" test

step "larder historical: a model_v4 training set with every rating as an entity row"
"$larder" -c "$repo" historical \
  --entity-sql "SELECT user_id, isbn, rating_timestamp AS event_timestamp, rating FROM read_parquet('$repo/data/raw/ratings.parquet')" \
  --feature-service model_v4 \
  --output "$repo/data/training/model_v4.parquet"

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
step "larder materialize-incremental: the 7 online views into RocksDB (latest rows; tiles of the 3 aggregation views)"
"$larder" -c "$repo" materialize-incremental "$now"

# A (user, book) pair with every model_v4 feature present now: among the 200
# latest ratings, the first whose point-in-time features at this instant are
# all non-null (the ttl then holds online too, and the aggregations' windows,
# rounded down to 10 minutes, hold the same ratings online as in training
# data). The user's means over the last day and week may be null (a count
# of 0) when no such pair exists: the data ends at the start of today, so late
# in the UTC day the day's window before now holds few ratings.
candidates="$repo/data/training/online_candidates.parquet"
"$larder" -c "$repo" historical \
  --entity-sql "SELECT user_id, isbn, TIMESTAMPTZ '$now' AS event_timestamp FROM read_parquet('$repo/data/raw/ratings.parquet') ORDER BY rating_timestamp DESC, user_id, isbn LIMIT 200" \
  --feature-service model_v4 --output "$candidates" > /dev/null
"$larder" -c "$repo" historical \
  --entity-sql "SELECT user_id, isbn, event_timestamp FROM read_parquet('$candidates', file_row_number = true) WHERE COLUMNS(* EXCLUDE (avg_day_user_rating, avg_week_user_rating)) IS NOT NULL ORDER BY avg_day_user_rating IS NULL, avg_week_user_rating IS NULL, file_row_number LIMIT 1" \
  --features book_features:language --output "$repo/data/training/sample_pair.csv" > /dev/null
pair=$(sed -n 2p "$repo/data/training/sample_pair.csv")
if [ -z "$pair" ]; then
  echo "No recent (user, book) pair has every model_v4 feature within its ttl" >&2
  exit 1
fi
sample_user=${pair%%,*}
sample_isbn=${pair#*,}
sample_isbn=${sample_isbn%%,*}
step "larder online: model_v4 features of user $sample_user and book $sample_isbn (Feast JSON)"
"$larder" -c "$repo" online --feature-service model_v4 --entity "user_id=$sample_user" \
  --entity "isbn=$sample_isbn"

# The stream: kinesalite on the loopback port that the example's kinesis
# source names, `larder demo-stream` replaying the latest ratings into the
# stream book_ratings as new events (their times moved to end now), and
# `larder stream` consuming them into agg_user_features_1d, which changes for
# a user the replay touches. kinesalite keeps its streams in memory: each run
# creates the stream afresh and its checkpoints from an earlier run are
# dropped (docs/stream.md).
kinesis_port=4567
stream_rate=50     # records per second: a minute of ratings
stream_count=3000
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-demo}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-demo}"
kinesalite_pid="" stream_pid=""
cleanup() {
  [ -z "$stream_pid" ] || kill "$stream_pid" 2>/dev/null || true
  [ -z "$kinesalite_pid" ] || kill "$kinesalite_pid" 2>/dev/null || true
}
trap cleanup EXIT
case "$("$root/scripts/kinesalite.sh" --probe "$kinesis_port")" in
  kinesis)
    step "Using the Kinesis endpoint already on 127.0.0.1:$kinesis_port (left running)" ;;
  free)
    step "Starting kinesalite on 127.0.0.1:$kinesis_port (stopped when the demo ends)"
    "$root/scripts/kinesalite.sh" "$kinesis_port" > "$repo/data/kinesalite.log" 2>&1 &
    kinesalite_pid=$!
    for _ in $(seq 100); do
      grep -q "listening" "$repo/data/kinesalite.log" && break
      kill -0 "$kinesalite_pid" 2>/dev/null || break
      sleep 0.2
    done
    if ! grep -q "listening" "$repo/data/kinesalite.log"; then
      cat "$repo/data/kinesalite.log" >&2
      echo "kinesalite did not start on 127.0.0.1:$kinesis_port" >&2
      exit 1
    fi ;;
  *)
    "$root/scripts/kinesalite.sh" "$kinesis_port"  # says what holds the port, exits 1
    exit 1 ;;
esac

# The user with the most ratings among the latest 90 that the replay sends
# (a day's worth at scale 0.1): moved to end now, they fall in the user's
# 1-day and 7-day windows.
"$larder" -c "$repo" historical \
  --entity-sql "SELECT user_id, TIMESTAMPTZ '$now' AS event_timestamp FROM (SELECT user_id FROM read_parquet('$repo/data/raw/ratings.parquet') ORDER BY rating_timestamp DESC, user_id, isbn LIMIT 90) GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1" \
  --features user_features:country --output "$repo/data/training/stream_user.csv" > /dev/null
stream_user=$(sed -n 2p "$repo/data/training/stream_user.csv")
stream_user=${stream_user%%,*}
day_features=agg_user_features_1d:avg_day_user_rating,agg_user_features_1d:count_day_user_rating,agg_user_features_1d:avg_week_user_rating,agg_user_features_1d:count_week_user_rating
step "Before the stream: agg_user_features_1d of user $stream_user"
"$larder" -c "$repo" online --features "$day_features" --entity "user_id=$stream_user"

step "larder demo-stream: $stream_count ratings at $stream_rate/s into stream book_ratings, consumed by larder stream"
"$larder" -c "$repo" demo-stream --limit 0  # creates the stream, so that the consumer can start
"$larder" -c "$repo" stream > "$repo/data/stream.log" 2>&1 &
stream_pid=$!
"$larder" -c "$repo" demo-stream --rate "$stream_rate" --limit "$stream_count" --restamp-to-now \
  --late-fraction 0.02 --duplicate-fraction 0.02
sleep 1
kill -TERM "$stream_pid" 2>/dev/null || true  # finishes its batch and checkpoint
wait "$stream_pid" || { cat "$repo/data/stream.log" >&2; exit 1; }
stream_pid=""
cat "$repo/data/stream.log"
step "larder stream --until-idle: whatever the consumer had not read yet"
"$larder" -c "$repo" stream --until-idle

step "After the stream: agg_user_features_1d of user $stream_user"
"$larder" -c "$repo" online --features "$day_features" --entity "user_id=$stream_user"

printf '\nDone. Training data: %s\nExplore with: build/larder -c %s --help\n' \
  "$repo/data/training/model_v4.parquet" "$repo"
