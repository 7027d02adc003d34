#!/usr/bin/env bash
# The demo: installs what is missing, builds Larder, creates the
# book-recommendation feature repo in demo/, generates its data, registers it,
# builds and tests its SQL models, and writes a point-in-time correct training
# set for model_v4. Run it again at any time; finished steps are skipped.
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

printf '\nDone. Training data: %s\nExplore with: build/larder -c %s --help\n' \
  "$repo/data/training/model_v4.parquet" "$repo"
