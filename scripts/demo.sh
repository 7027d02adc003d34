#!/usr/bin/env bash
# The demo: installs what is missing, builds Larder, creates the
# book-recommendation feature repo in demo/, generates its data and registers
# it. Run it again at any time; finished steps are skipped.
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

stamp="$repo/data/raw/.scale"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$scale" ]; then
  step "Demo data at scale $scale is present"
else
  step "Generating demo data at scale $scale"
  "$larder" -c "$repo" demo-data --scale "$scale"
  echo "$scale" > "$stamp"
fi

step "larder plan"
"$larder" -c "$repo" plan
step "larder apply"
"$larder" -c "$repo" apply
step "Registered feature views"
"$larder" -c "$repo" feature-views list
step "Registered feature services"
"$larder" -c "$repo" feature-services list
printf '\nDone. Explore with: build/larder -c %s --help\n' "$repo"
