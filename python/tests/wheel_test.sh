#!/usr/bin/env bash
# The wheel installs and works anywhere: builds the sdist and the wheel with
# scripts/wheel.sh (the wheel from the sdist, DuckDB downloaded by CMake),
# installs the wheel into a fresh venv outside the checkout, and, from a
# directory outside the checkout with no PYTHONPATH:
#   - runs the `larder` console script (version, init, demo-data, apply, run,
#     materialize);
#   - checks that the module and the command load their native libraries from
#     the wheel, not from the build machine's /usr/lib;
#   - reads training data (a historical read) and online features through the
#     SDK, and checks that the online values equal the point-in-time values at
#     the present.
# ctest runs it as PythonWheel (label `wheel`; a few minutes: it compiles
# liblarder in Release). LARDER_DOWNLOAD_CACHE keeps DuckDB's tarballs;
# LARDER_TEST_WHEEL=FILE tests a wheel built before instead of building one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/larder_wheel_test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
case "$work" in "$root"/*) echo "FAIL: scratch dir $work is inside the checkout" >&2; exit 1 ;; esac
fail() { echo "FAIL: $*" >&2; exit 1; }
log() { printf '[wheel-test] %s\n' "$*"; }

start=$SECONDS
if [ -n "${LARDER_TEST_WHEEL:-}" ]; then
  wheel=("$LARDER_TEST_WHEEL")  # a wheel built before, to test only the install
else
  "$root/scripts/wheel.sh" "$work/dist"
  wheel=("$work"/dist/larder_feature_store-*.whl)
fi
[ -f "${wheel[0]}" ] || fail "no wheel: ${wheel[0]}"
log "sdist and wheel: $((SECONDS - start)) s"

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  "${wheel[0]}"
log "installed into a fresh venv: $((SECONDS - start)) s"

mkdir "$work/outside"
cd "$work/outside"
export PATH="$work/venv/bin:$PATH"
unset PYTHONPATH LARDER_BINARY
[ "$(command -v larder)" = "$work/venv/bin/larder" ] || fail "the console script is not on the venv's PATH"
[ "$(larder version)" = "larder $(cat "$root/VERSION")" ] || fail "larder version: $(larder version)"

site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for elf in "$site"/larder/_larder*.so "$site"/larder/bin/larder; do
  deps="$(ldd "$elf")"
  if grep -q 'not found' <<<"$deps"; then fail "$elf: $deps"; fi
  grep -q libduckdb <<<"$deps" || fail "$elf does not load libduckdb"
  # Every library but those the manylinux policy lets a wheel take from the
  # system (glibc, the C++ runtime, zlib) must come from the wheel.
  while read -r name _ where _; do
    case "$name" in
      linux-vdso.so.* | /lib64/ld-linux* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | \
        librt.so.* | libstdc++.so.* | libgcc_s.so.* | libz.so.1) continue ;;
    esac
    case "$where" in
      "$site"/*) ;;
      *) fail "$elf loads $name from '$where', not from the wheel" ;;
    esac
  done <<<"$deps"
done

larder init repo --template book_recs >/dev/null
for step in "demo-data --scale 0.01" apply run "materialize 1900-01-01T00:00:00Z 2100-01-01T00:00:00Z"; do
  # shellcheck disable=SC2086
  larder -c repo $step >/dev/null || fail "larder $step"
done

"$work/venv/bin/python" - "$work/venv" <<'PY'
import os
import sys

import pandas as pd

import larder
from larder import FeatureStore

venv = sys.argv[1]
assert larder.__file__.startswith(venv), larder.__file__
with FeatureStore(repo_path="repo") as store:
    service = store.get_feature_service("model_v4")
    ratings = pd.read_parquet("repo/data/raw/ratings.parquet")
    latest = ratings.sort_values("rating_timestamp", ascending=False).head(50)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    entities = pd.DataFrame({"user_id": latest["user_id"].to_numpy(),
                             "isbn": latest["isbn"].to_numpy(),
                             "event_timestamp": [now] * len(latest)})
    training = store.get_historical_features(entity_df=entities, features=service).to_df()
    assert len(training) == 50, training
    features = [c for c in training.columns if c not in ("user_id", "isbn", "event_timestamp")]
    assert len(features) == 13, features
    rows = [{"user_id": int(u), "isbn": str(i)} for u, i in zip(entities["user_id"], entities["isbn"])]
    online = store.get_online_features(features=service, entity_rows=rows)
    values, statuses = online.to_dict(), online.statuses
    present = 0
    for k in range(len(rows)):
        for name in features:
            expected = training[name].iloc[k]
            if pd.isna(expected):
                continue
            assert statuses[name][k] == "PRESENT", (rows[k], name, statuses[name][k])
            got = values[name][k]
            if isinstance(got, float):
                assert abs(got - float(expected)) < 1e-9, (rows[k], name, got, expected)
            else:
                assert got == expected, (rows[k], name, got, expected)
            present += 1
    assert present >= 50 * 13 // 2, f"only {present} values present"
    print(f"historical: {len(training)} rows x {len(features)} features; online: {present} values "
          "equal to them")
PY
log "ok in $((SECONDS - start)) s"
