"""Correctness cross-checks of bench/feast: Larder's answers against Feast's.

compare_training_sets: two training sets, value by value, joined on row_id.
rows_feast_file_store_drops: the entity rows Feast's file offline store
  leaves out, computed straight from the source files (docs/BENCHMARKS.md).
compare_online: Feast's online read against Larder's Feast-format JSON.
"""

import numpy as np
import pandas as pd

SKIP = ("user_id", "isbn", "event_timestamp")


def compare_training_sets(larder_df, feast_df, skip=SKIP, rel_tol=1e-9, limit=5):
    """Mismatches between Larder's training set and Feast's (DataFrames), joined
    on row_id, over every column both have except `skip` and timestamp
    columns: floats within rel_tol, other values equal, nulls in the same
    places. At most `limit` rows are named per column."""
    a = larder_df.set_index("row_id").sort_index()
    b = feast_df.set_index("row_id").sort_index()
    problems = []
    if a.index.has_duplicates or b.index.has_duplicates:
        problems.append("duplicate row_id values")
    if not a.index.equals(b.index):
        problems.append("row_ids differ: %d only in larder, %d only in feast"
                        % (len(a.index.difference(b.index)), len(b.index.difference(a.index))))
    index = a.index.intersection(b.index)
    a, b = a.loc[index], b.loc[index]
    for side, x, y in (("larder", a, b), ("feast", b, a)):
        only = [c for c in x.columns if c not in y.columns and c not in skip]
        if only:
            problems.append("columns only in %s: %s" % (side, ", ".join(only)))
    for c in (c for c in a.columns if c in b.columns and c not in skip):
        x, y = a[c], b[c]
        if pd.api.types.is_datetime64_any_dtype(x) or pd.api.types.is_datetime64_any_dtype(y):
            continue
        xn, yn = x.isna().to_numpy(), y.isna().to_numpy()
        bad = xn != yn
        both = ~xn & ~yn
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            xv, yv = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            tol = rel_tol * np.maximum(np.abs(xv), np.abs(yv))
            with np.errstate(invalid="ignore"):
                bad |= both & ~(np.abs(xv - yv) <= tol)
        else:
            bad |= both & (x.astype(object).to_numpy() != y.astype(object).to_numpy())
        if bad.any():
            rows = index[bad][:limit]
            problems.append("%s: %d rows differ, e.g. " % (c, bad.sum()) + "; ".join(
                "row_id %s larder=%r feast=%r" % (r, a.at[r, c], b.at[r, c]) for r in rows))
    return problems


def rows_feast_file_store_drops(entities_parquet, views):
    """row_ids of entity rows for which some view has rows for the key, but
    none in [entity time - ttl, entity time]: every such row is older than the
    ttl or later than the entity row. Feast's file offline store joins all of
    a key's rows, filters them to that window, and so loses the entity row
    itself; a point-in-time join keeps it with the view's features null.
    views: (parquet path, join key, timestamp column, ttl in days)."""
    import duckdb
    query = " UNION ".join(
        "SELECT e.row_id FROM read_parquet('{e}') e "
        "WHERE EXISTS (SELECT 1 FROM read_parquet('{s}') s WHERE s.{k} = e.{k}) "
        "AND NOT EXISTS (SELECT 1 FROM read_parquet('{s}') s WHERE s.{k} = e.{k} "
        "AND s.{t} <= e.event_timestamp "
        "AND epoch_us(s.{t}) >= epoch_us(e.event_timestamp) - {d}::BIGINT * 86400000000)"
        .format(e=entities_parquet, s=path, k=key, t=ts, d=ttl_days)
        for path, key, ts, ttl_days in views)
    con = duckdb.connect()
    rows = {r[0] for r in con.execute(query).fetchall()}
    con.close()
    return rows


def compare_online(feast, larder):
    """Compares Feast's online read ({names, values, statuses}, one list per
    name) with Larder's Feast JSON, feature by feature. Returns (mismatches,
    count of cells where only Larder applied the ttl)."""
    names = larder["metadata"]["feature_names"]
    feast_index = {n: i for i, n in enumerate(feast["names"])}
    mismatches, ttl_expected = [], 0
    for col, name in enumerate(names):
        if name not in feast_index:
            mismatches.append("feature %s missing from Feast's response" % name)
            continue
        f_values = feast["values"][feast_index[name]]
        f_status = feast["statuses"][feast_index[name]]
        result = larder["results"][col]
        for row, (lv, ls) in enumerate(zip(result["values"], result["statuses"])):
            fv, fs = f_values[row], f_status[row]
            if ls == "OUTSIDE_MAX_AGE" and fs == "PRESENT":
                ttl_expected += 1
                continue
            if ls != fs or not _same(fv, lv):
                mismatches.append("row %d %s: Feast %r (%s), Larder %r (%s)"
                                  % (row, name, fv, fs, lv, ls))
    return mismatches, ttl_expected


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return a == b
