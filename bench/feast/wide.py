"""The "wide training set" benchmark of bench/feast: Feast issue #3003
(17k entity rows x 1,000 features over 20 feature views).

generate() makes, from the book_recs example's ratings.parquet:
- entities.parquet: `entity_rows` ratings sampled at random (seeded) as entity
  rows: row_id, user_id, isbn, event_timestamp (the rating's time, UTC);
- data/wide_XX.parquet: one file per view, wide_00, wide_01, ...; even views
  are keyed by user (user_id), odd ones by book (isbn). For each key in the
  entity table, `rows_per_key` rows: the first stamped at random in the 2
  years before the key's first entity row, so that every entity row finds a
  value, the others at random between then and the key's last entity row;
  `features_per_view` Float64 features f{view}_{j}, 2% of them null;
- larder/: a Larder repo over those files, feature service `wide`;
- feast/: the same as a Feast repo (feature_store.yaml, wide_repo.py).

    python wide.py --ratings data/raw/ratings.parquet --out /tmp/wide
"""

import argparse
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TTL_DAYS = 3650
NULL_FRACTION = 0.02
TWO_YEARS_US = 2 * 365 * 86400 * 10**6
TS = pa.timestamp("us", tz="UTC")
KEYS = {"user": ("user_id", "Int64"), "book": ("isbn", "String")}


def view_entity(v: int) -> str:
    return "user" if v % 2 == 0 else "book"


def feature_names(v: int, features_per_view: int) -> list:
    return [f"f{v:02d}_{j:02d}" for j in range(features_per_view)]


def _entity_table(ratings_parquet, entity_rows, rng):
    t = pq.read_table(ratings_parquet, columns=["user_id", "isbn", "rating_timestamp"])
    n = min(entity_rows, t.num_rows)
    t = t.take(pa.array(np.sort(rng.choice(t.num_rows, n, replace=False))))
    return pa.table({
        "row_id": pa.array(np.arange(n, dtype=np.int64)),
        "user_id": t["user_id"].cast(pa.int64()),
        "isbn": t["isbn"].cast(pa.string()),
        "event_timestamp": t["rating_timestamp"].cast(TS),
    })


def _key_spans(keys: np.ndarray, ts_us: np.ndarray):
    """The distinct keys with each one's earliest and latest timestamp."""
    uniq, inv = np.unique(keys, return_inverse=True)
    lo = np.full(len(uniq), np.iinfo(np.int64).max)
    hi = np.full(len(uniq), np.iinfo(np.int64).min)
    np.minimum.at(lo, inv, ts_us)
    np.maximum.at(hi, inv, ts_us)
    return uniq, lo, hi


def _view_table(key_col, uniq, lo, hi, names, rows_per_key, rng):
    k = np.repeat(np.arange(len(uniq)), rows_per_key)
    start = lo[k] - TWO_YEARS_US
    # The first row of each key at or before its first entity row (a key with
    # no row that early would leave that entity row without a value).
    first = np.arange(len(k)) % rows_per_key == 0
    end = np.where(first, lo[k], hi[k])
    ts = start + (rng.random(len(k)) * (end - start)).astype(np.int64)
    values = rng.standard_normal((len(k), len(names)))
    nulls = rng.random(values.shape) < NULL_FRACTION
    keys = pa.array(uniq[k], type=pa.int64() if key_col == "user_id" else pa.string())
    cols = {key_col: keys, "event_timestamp": pa.array(ts, type=pa.int64()).cast(TS)}
    for j, name in enumerate(names):
        cols[name] = pa.array(values[:, j], mask=nulls[:, j])
    return pa.table(cols)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _larder_repo(repo, data, views, features_per_view):
    os.makedirs(repo, exist_ok=True)
    _write(os.path.join(repo, "feature_store.yaml"), """project: wide
registry: data/registry.db
provider: local
online_store:
  type: rocksdb
  path: data/online_store
offline_store:
  type: duckdb
  path: data/offline_store.duckdb
entity_key_serialization_version: 3
""")
    _write(os.path.join(repo, "entities.yaml"), """entities:
  - name: user
    join_keys: [user_id]
    value_type: Int64
  - name: book
    join_keys: [isbn]
    value_type: String
""")
    sources, fvs = ["data_sources:"], ["feature_views:"]
    for v in range(views):
        name, entity = f"wide_{v:02d}", view_entity(v)
        key, dtype = KEYS[entity]
        sources += [f"  - name: {name}_source", "    type: file",
                    f"    path: {os.path.join(data, name + '.parquet')}",
                    "    timestamp_field: event_timestamp"]
        fvs += [f"  - name: {name}", f"    entities: [{entity}]", f"    ttl: {TTL_DAYS}d",
                f"    source: {name}_source", "    schema:",
                f"      - {{name: {key}, dtype: {dtype}}}"]
        fvs += [f"      - {{name: {f}, dtype: Float64}}" for f in feature_names(v, features_per_view)]
    _write(os.path.join(repo, "data_sources.yaml"), "\n".join(sources) + "\n")
    _write(os.path.join(repo, "feature_views.yaml"), "\n".join(fvs) + "\n")
    _write(os.path.join(repo, "feature_services.yaml"),
           "feature_services:\n  - name: wide\n    features:\n"
           + "".join(f"      - wide_{v:02d}\n" for v in range(views)))


FEAST_REPO = '''"""The wide benchmark's views as Feast definitions; written by bench/feast/wide.py."""

import os
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String

DATA = {data!r}
VIEWS = {views}
FEATURES_PER_VIEW = {features_per_view}

user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
book = Entity(name="book", join_keys=["isbn"], value_type=ValueType.STRING)

_views = []
for _v in range(VIEWS):
    _entity, _key, _dtype = (user, "user_id", Int64) if _v % 2 == 0 else (book, "isbn", String)
    _name = "wide_%02d" % _v
    _source = FileSource(name=_name + "_source", path=os.path.join(DATA, _name + ".parquet"),
                         timestamp_field="event_timestamp")
    _fv = FeatureView(
        name=_name, entities=[_entity], ttl=timedelta(days={ttl}), online=True, source=_source,
        schema=[Field(name=_key, dtype=_dtype)]
        + [Field(name="f%02d_%02d" % (_v, j), dtype=Float64) for j in range(FEATURES_PER_VIEW)])
    globals()[_name + "_source"] = _source
    globals()[_name] = _fv
    _views.append(_fv)

wide = FeatureService(name="wide", features=_views)
'''


def _feast_repo(repo, data, views, features_per_view):
    os.makedirs(repo, exist_ok=True)
    _write(os.path.join(repo, "feature_store.yaml"), """project: wide
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online_store.db
offline_store:
  type: file
entity_key_serialization_version: 3
""")
    _write(os.path.join(repo, "wide_repo.py"), FEAST_REPO.format(
        data=data, views=views, features_per_view=features_per_view, ttl=TTL_DAYS))


def generate(ratings_parquet: str, out_dir: str, entity_rows: int = 17_000, views: int = 20,
             features_per_view: int = 50, rows_per_key: int = 4, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    out_dir = os.path.abspath(out_dir)
    data = os.path.join(out_dir, "data")
    os.makedirs(data, exist_ok=True)

    entities = _entity_table(ratings_parquet, entity_rows, rng)
    entities_path = os.path.join(out_dir, "entities.parquet")
    pq.write_table(entities, entities_path)

    ts_us = entities["event_timestamp"].cast(pa.int64()).to_numpy()
    spans = {e: _key_spans(entities[key].to_numpy(zero_copy_only=False), ts_us)
             for e, (key, _) in KEYS.items()}
    for v in range(views):
        key = KEYS[view_entity(v)][0]
        table = _view_table(key, *spans[view_entity(v)], feature_names(v, features_per_view),
                            rows_per_key, rng)
        pq.write_table(table, os.path.join(data, f"wide_{v:02d}.parquet"))

    larder_repo, feast_repo = os.path.join(out_dir, "larder"), os.path.join(out_dir, "feast")
    _larder_repo(larder_repo, data, views, features_per_view)
    _feast_repo(feast_repo, data, views, features_per_view)
    return {"entities": entities_path, "larder_repo": larder_repo, "feast_repo": feast_repo,
            "feature_service": "wide", "features": views * features_per_view, "views": views,
            "entity_rows": entities.num_rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ratings", required=True, help="the book_recs example's ratings.parquet")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--entity-rows", type=int, default=17_000)
    p.add_argument("--views", type=int, default=20)
    p.add_argument("--features-per-view", type=int, default=50)
    p.add_argument("--rows-per-key", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    started = time.monotonic()
    info = generate(args.ratings, args.out, args.entity_rows, args.views,
                    args.features_per_view, args.rows_per_key, args.seed)
    print("generated in %.2f s:" % (time.monotonic() - started))
    for k, v in info.items():
        print("  %s: %s" % (k, v))


if __name__ == "__main__":
    main()
