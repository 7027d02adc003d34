"""The Python SDK against the `larder` CLI on one small generated book_recs repo.

Historical results must equal `larder historical` value for value, and online
results `larder online`'s JSON.
"""

import datetime as dt
import math
import os
import threading

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import larder
from larder import FeatureStore

UTC = dt.timezone.utc


def entity_sql(repo: str, limit: int = 300) -> str:
    ratings = os.path.join(repo, "data/raw/ratings.parquet")
    return (f"SELECT user_id, isbn, rating_timestamp AS event_timestamp "
            f"FROM read_parquet('{ratings}') ORDER BY rating_timestamp, user_id, isbn LIMIT {limit}")


def assert_tables_equal(a: pa.Table, b: pa.Table):
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        # Parquet round trips keep the types; compare values as Python objects.
        assert a.column(name).to_pylist() == b.column(name).to_pylist(), name


# --- Registry ----------------------------------------------------------------


def test_plan_apply_and_listings(store):
    assert store.plan() == []  # the CLI applied this repo already
    result = store.apply()
    assert result["changes"] == [] and result["version"] >= 1
    assert sorted(e.name for e in store.list_entities()) == ["book", "user"]
    user = store.get_entity("user")
    assert user.join_keys == ["user_id"] and user.value_type == "Int64"
    views = {v.name: v for v in store.list_feature_views()}
    assert "user_features" in views and "agg_user_features_1d" in views
    assert views["user_features"].ttl == dt.timedelta(days=1095)
    assert [f.name for f in views["avg_book_category_rating_features"].features] == [
        "avg_yr_category_rating", "count_yr_category_rating"]
    assert views["avg_book_category_rating_features"].features[0].dtype == "Float64"
    # An aggregation view's features are its aggregations' outputs.
    day = views["agg_user_features_1d"]
    assert day.schema == []
    assert [(f.name, f.dtype) for f in day.features] == [
        ("avg_day_user_rating", "Float64"), ("count_day_user_rating", "Int64"),
        ("avg_week_user_rating", "Float64"), ("count_week_user_rating", "Int64")]
    services = {s.name for s in store.list_feature_services()}
    assert {"model_v1", "model_v2", "model_v3", "model_v4"} <= services
    v4 = store.get_feature_service("model_v4")
    assert [p.name for p in v4.feature_view_projections][:2] == ["book_features", "user_features"]
    with pytest.raises(larder.NotFoundError):
        store.get_feature_service("no_such_service")


def test_plan_sees_a_new_definition(repo, tmp_path):
    # A copy of the repo's definitions with one more entity: plan() reports it.
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(
        "registry.db*", "online_store", "offline_store.duckdb*"))
    s = FeatureStore(repo_path=str(copy))
    changes = s.plan()
    assert any(c["type"] == "create" and c["name"] == "user" for c in changes)
    assert s.apply()["version"] == 1
    assert s.plan() == []


# --- Training data -----------------------------------------------------------


@pytest.mark.parametrize("full_feature_names", [False, True])
def test_historical_from_sql_equals_cli(store, cli, repo, tmp_path, full_feature_names):
    sql = entity_sql(repo)
    out = tmp_path / "cli.parquet"
    args = ["historical", "--entity-sql", sql, "--feature-service", "model_v4", "--output",
            str(out)]
    if full_feature_names:
        args.append("--full-feature-names")
    cli.run(*args)
    expected = pq.read_table(out)

    job = store.get_historical_features(entity_df=sql, features=store.get_feature_service("model_v4"),
                                        full_feature_names=full_feature_names)
    assert job.columns == expected.column_names
    sdk_file = tmp_path / "sdk.parquet"
    assert job.to_parquet(sdk_file) == expected.num_rows
    assert_tables_equal(pq.read_table(sdk_file), expected)

    table = job.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.schema.field("event_timestamp").type == pa.timestamp("us", tz="UTC")
    assert_tables_equal(table, expected)
    df = job.to_df()
    assert isinstance(df, pd.DataFrame) and len(df) == expected.num_rows
    assert str(df["event_timestamp"].dtype) == "datetime64[us, UTC]"


def test_historical_from_dataframe_equals_cli(store, cli, repo, tmp_path):
    ratings = pq.read_table(os.path.join(repo, "data/raw/ratings.parquet")).to_pandas()
    entity_df = ratings.sample(n=400, random_state=7)[["user_id", "isbn", "rating_timestamp"]]
    entity_df = entity_df.rename(columns={"rating_timestamp": "event_timestamp"})
    # Duplicates and input order are kept; pandas' nanosecond timestamps are fine.
    entity_df = pd.concat([entity_df, entity_df.head(3)])
    entity_df["event_timestamp"] = entity_df["event_timestamp"].astype("datetime64[ns, UTC]")
    entities_file = tmp_path / "entities.parquet"
    entity_df.to_parquet(entities_file, index=False)
    features = ["user_features:country", "book_agg_rating_features:avg_yr_book_rating",
                "agg_user_features_1d:count_day_user_rating", "book_features:category"]
    out = tmp_path / "cli.parquet"
    cli.run("historical", "--entities", str(entities_file), "--features", ",".join(features),
            "--output", str(out))
    expected = pq.read_table(out)

    job = store.get_historical_features(entity_df=entity_df, features=features)
    assert_tables_equal(job.to_arrow(), expected)
    df = job.to_df()
    assert list(df["user_id"]) == list(entity_df["user_id"])
    # The job runs again (the entity rows were copied into the engine).
    assert job.to_arrow().num_rows == len(entity_df)


def test_historical_from_arrow_table(store, repo):
    table = pa.table({
        "user_id": pa.array([1, 2, 3], pa.int64()),
        "event_timestamp": pa.array([dt.datetime(2022, 6, 1, tzinfo=UTC)] * 3,
                                    pa.timestamp("us", tz="UTC")),
    })
    df = store.get_historical_features(entity_df=table, features=["user_features:country"]).to_df()
    assert list(df.columns) == ["user_id", "event_timestamp", "country"]
    assert len(df) == 3


def test_historical_errors(store, repo):
    with pytest.raises(larder.InvalidArgumentError, match="no join key column `isbn`"):
        store.get_historical_features(
            entity_df=pd.DataFrame({"user_id": [1], "event_timestamp": [pd.Timestamp("2022-01-01")]}),
            features=["book_features:category"])
    with pytest.raises(larder.NotFoundError, match="no_view"):
        store.get_historical_features(entity_df=entity_sql(repo), features=["no_view:x"])
    with pytest.raises(TypeError, match="'entity_df'"):
        store.get_historical_features(entity_df=42, features=["user_features:country"])
    with pytest.raises(TypeError, match="'features'"):
        store.get_historical_features(entity_df=entity_sql(repo), features="user_features:country")
    with pytest.raises(larder.LarderError):
        store.get_historical_features(entity_df="SELECT nonsense FROM", features=["user_features:country"])


# --- Online ------------------------------------------------------------------


# The embedded RocksDB online store admits one process at a time, so online
# tests use their own FeatureStore and close it before running the CLI.


@pytest.fixture(scope="module")
def materialized(repo):
    with FeatureStore(repo_path=repo) as s:
        report = s.materialize(dt.datetime(1900, 1, 1), dt.datetime(2023, 1, 1))
    assert {r["view"] for r in report} >= {"user_features", "book_features"}
    # A plain view writes a record per row; an aggregation view reads events
    # (rows) and writes one record of tiles per entity.
    aggregations = {"agg_user_features_1d", "user_agg_rating_features", "book_agg_rating_features"}
    assert all(r["written"] == r["rows"] for r in report if r["view"] not in aggregations)
    assert all(0 < r["written"] <= r["rows"] and r["skipped"] == 0 for r in report
               if r["view"] in aggregations)
    return report


@pytest.fixture
def online_store(repo, materialized):
    s = FeatureStore(repo_path=repo)
    yield s
    s.close()


def cli_online_values(cli, features_flag, entity):
    """{feature name: (value, status)} from `larder online`."""
    out = cli.online(features_flag, entity)
    names = out["metadata"]["feature_names"]
    return {n: (r["values"][0], r["statuses"][0]) for n, r in zip(names, out["results"])}


def test_online_equals_cli(online_store, cli, repo):
    store = online_store
    ratings = pq.read_table(os.path.join(repo, "data/raw/ratings.parquet")).slice(0, 4).to_pylist()
    rows = [{"user_id": r["user_id"], "isbn": r["isbn"]} for r in ratings]
    resp = store.get_online_features(features=store.get_feature_service("model_v4"), entity_rows=rows)
    store.close()
    got = resp.to_dict()
    statuses = resp.statuses
    assert list(got)[:2] == ["isbn", "user_id"]
    for i, row in enumerate(rows):
        expected = cli_online_values(cli, ["--feature-service", "model_v4"], row)
        assert set(expected) == set(got)
        for name, (value, status) in expected.items():
            assert statuses[name][i] == status, name
            v = got[name][i]
            if isinstance(v, float):
                assert math.isclose(v, value, rel_tol=1e-15), name
            else:
                assert v == value, name
    df = resp.to_df()
    assert len(df) == len(rows) and list(df.columns) == list(got)


def test_online_full_feature_names_and_timestamps(online_store):
    store = online_store
    resp = store.get_online_features(features=["user_features:country"],
                                     entity_rows=[{"user_id": 1}, {"user_id": 10**9}],
                                     full_feature_names=True)
    d = resp.to_dict(include_event_timestamps=True)
    assert list(d) == ["user_id", "user_features__country", "user_features__country__ts"]
    assert resp.statuses["user_features__country"][1] == "NOT_FOUND"
    assert d["user_features__country"][1] is None
    assert d["user_features__country__ts"][0].tzinfo is not None


def test_materialize_incremental(online_store):
    store = online_store
    report = store.materialize_incremental(dt.datetime(2023, 1, 2, tzinfo=UTC),
                                           feature_views=["user_features"])
    assert [r["view"] for r in report] == ["user_features"]
    assert report[0]["start"] == dt.datetime(2023, 1, 1, tzinfo=UTC)  # the watermark
    # An aware datetime in another zone is converted to UTC.
    plus2 = dt.timezone(dt.timedelta(hours=2))
    report = store.materialize_incremental(dt.datetime(2023, 1, 3, 2, tzinfo=plus2),
                                           feature_views=["user_features"])
    assert report[0]["end"] == dt.datetime(2023, 1, 3, tzinfo=UTC)


def ratings(users, times, values, isbn="0441172717") -> pd.DataFrame:
    """Rating events for the example's push source user_ratings_push (which
    feeds its 365-day rating aggregation views) or its kinesis source
    book_ratings_stream (which a push may name too; it feeds
    agg_user_features_1d)."""
    return pd.DataFrame({"user_id": users, "isbn": [isbn] * len(users),
                         "rating_timestamp": times, "rating": values})


DAY = ["agg_user_features_1d:avg_day_user_rating", "agg_user_features_1d:count_day_user_rating"]


def test_pushed_ratings_update_the_aggregates(online_store, cli, repo):
    store = online_store
    now = dt.datetime.now(UTC).replace(microsecond=0)
    hour = dt.timedelta(hours=1)
    df = ratings([7, 7, 8], [now - 2 * hour, now - 3 * hour, now - 2 * hour], [9, 4, 3])
    report = store.push("book_ratings_stream", df, to="online_and_offline")
    assert report["rows"] == 3 and report["offline_rows"] == 3
    assert [r["view"] for r in report["online"]] == ["agg_user_features_1d"]
    got = store.get_online_features(features=DAY,
                                    entity_rows=[{"user_id": 7}, {"user_id": 8}]).to_dict()
    assert got == {"user_id": [7, 8], "avg_day_user_rating": [6.5, 3.0],
                   "count_day_user_rating": [2, 1]}
    store.close()
    with pytest.raises(larder.FailedPreconditionError, match="closed"):
        store.plan()
    assert cli_online_values(cli, ["--features", ",".join(DAY)], {"user_id": 8}) == {
        "user_id": (8, "PRESENT"), "avg_day_user_rating": (3.0, "PRESENT"),
        "count_day_user_rating": (1, "PRESENT")}
    store = FeatureStore(repo_path=repo)

    # Offline pushes reach training data: after the ratings, both count;
    # at the second one's own time, only the first (the window ends before t).
    job = store.get_historical_features(
        entity_df=pd.DataFrame({"user_id": [7, 7], "event_timestamp": [now, now - 2 * hour]}),
        features=DAY)
    got = job.to_df()
    assert got["count_day_user_rating"].tolist() == [2, 1]
    assert got["avg_day_user_rating"].tolist() == [6.5, 4.0]

    # A dict of columns works too; PushMode is accepted for `to`.
    report = store.push("book_ratings_stream", {"user_id": [9], "isbn": ["0441172717"],
                                                "rating_timestamp": [(now - hour).isoformat()],
                                                "rating": [5]},
                        to=larder.PushMode.ONLINE)
    assert report["offline_rows"] == 0 and len(report["online"]) == 1
    got = store.get_online_features(features=DAY, entity_rows=[{"user_id": 9}]).to_dict()
    assert got["count_day_user_rating"] == [1]
    store.close()


def test_push_and_write_to_online_store_plain_view(online_store, cli, repo):
    store = online_store
    now = dt.datetime.now(UTC).replace(microsecond=0)
    df = pd.DataFrame({"user_id": [7, 8], "score_timestamp": [now - dt.timedelta(hours=1)] * 2,
                       "score": [9.5, 3.25]})
    report = store.push("scores_push", df, to="online_and_offline")
    assert report["rows"] == 2 and report["offline_rows"] == 2
    assert report["online"] == [{"view": "user_scores", "written": 2, "skipped": 0}]
    features = ["user_scores:score"]
    got = store.get_online_features(features=features,
                                    entity_rows=[{"user_id": 7}, {"user_id": 8}]).to_dict()
    assert got == {"user_id": [7, 8], "score": [9.5, 3.25]}
    store.close()
    assert cli_online_values(cli, ["--features", ",".join(features)], {"user_id": 8}) == {
        "user_id": (8, "PRESENT"), "score": (3.25, "PRESENT")}
    store = FeatureStore(repo_path=repo)

    # write_to_online_store: the newer row lands, an older one is skipped.
    newer = pd.DataFrame({"user_id": [7, 8], "score_timestamp": [now, now - dt.timedelta(days=1)],
                          "score": [1.0, 1.0]})
    report = store.write_to_online_store("user_scores", newer)
    assert report["online"] == [{"view": "user_scores", "written": 1, "skipped": 1}]
    got = store.get_online_features(features=features,
                                    entity_rows=[{"user_id": 7}, {"user_id": 8}]).to_dict()
    assert got["score"] == [1.0, 3.25]

    # Offline pushes reach training data.
    job = store.get_historical_features(
        entity_df=pd.DataFrame({"user_id": [7], "event_timestamp": [now]}), features=features)
    assert job.to_df()["score"].tolist() == [9.5]
    store.close()


def test_push_errors(online_store):
    store = online_store
    with pytest.raises(larder.NotFoundError):
        store.push("no_such_push_source", pd.DataFrame({"user_id": [1]}))
    bad = ratings([1], ["not a time"], [1])
    with pytest.raises(larder.InvalidArgumentError, match="rating_timestamp"):
        store.push("user_ratings_push", bad)
    with pytest.raises(larder.InvalidArgumentError):
        store.push("user_ratings_push", pd.DataFrame({"user_id": [1]}), to="sideways")
    # A pushed rating needs the aggregated column.
    with pytest.raises(larder.InvalidArgumentError, match="rating"):
        store.push("user_ratings_push", ratings([1], [dt.datetime(2022, 1, 1)], [1]).drop(
            columns=["rating"]))
    # DataFrames cross as Arrow and are read by the engine: types it cannot
    # read, and values that do not fit the declared dtype, name the column.
    nested = pa.table({"user_id": [1], "isbn": ["x"], "rating_timestamp": [dt.datetime(2022, 1, 1)],
                       "rating": pa.array([{"a": 1}])})
    with pytest.raises(larder.InvalidArgumentError, match="rating"):
        store.push("user_ratings_push", nested)
    wrong = pa.table({"user_id": [1], "score_timestamp": [dt.datetime(2022, 1, 1)],
                      "score": [[1.0, 2.0]]})
    with pytest.raises(larder.InvalidArgumentError, match="score"):
        store.write_to_online_store("user_scores", wrong)
    with pytest.raises(TypeError, match="'df'"):
        store.write_to_online_store("user_scores", 42)
    with pytest.raises(TypeError, match="'push_source_name'"):
        store.push(3, pd.DataFrame({"user_id": [1]}))


def test_online_keeps_non_finite_floats_and_negative_zero(online_store, cli):
    """to_dict/to_df give back inf, -inf, NaN and -0.0 as stored, PRESENT; the CLI's
    JSON (like Feast's server) spells the non-finite ones "Infinity", "-Infinity", "NaN"."""
    store = online_store
    now = dt.datetime.now(UTC).replace(microsecond=0)
    users = [9101, 9102, 9103, 9104]
    odd = [math.inf, -math.inf, math.nan, -0.0]
    rows = pa.table({"user_id": users, "score_timestamp": [now - dt.timedelta(hours=1)] * 4,
                     "score": pa.array(odd, pa.float64())})
    store.push("scores_push", rows, to="online")
    feature = "user_scores:score"
    resp = store.get_online_features(features=[feature],
                                     entity_rows=[{"user_id": u} for u in users])

    def check(values):
        values = list(values)
        assert values[0] == math.inf and values[1] == -math.inf
        assert math.isnan(values[2])
        assert values[3] == 0.0 and math.copysign(1.0, values[3]) == -1.0

    check(resp.to_dict()["score"])
    check(resp.to_df()["score"])
    assert resp.statuses["score"] == ["PRESENT"] * 4
    store.close()
    spelled = [cli.online(["--features", feature], {"user_id": u})["results"][1]["values"][0]
               for u in users]
    assert spelled[:3] == ["Infinity", "-Infinity", "NaN"]
    assert spelled[3] == 0.0 and math.copysign(1.0, spelled[3]) == -1.0


def test_online_echoes_join_keys_typed_and_drops_unknown_columns(online_store):
    store = online_store
    resp = store.get_online_features(features=["user_features:country"],
                                     entity_rows=[{"user_id": 1, "isbn": "x", "colour": "red"}])
    assert list(resp.to_dict()) == ["isbn", "user_id", "country"]
    with pytest.raises(larder.InvalidArgumentError, match=r"features\[1\]"):
        store.get_online_features(features=["user_features:country", "user_features:country"],
                                  entity_rows=[{"user_id": 1}])


def test_push_takes_feasts_arguments_in_feasts_order():
    # Feast 0.67: push(push_source_name, df, allow_registry_cache=True,
    # to=PushMode.ONLINE, transform_on_write=True).
    import inspect
    params = inspect.signature(FeatureStore.push).parameters
    assert list(params)[1:] == ["push_source_name", "df", "allow_registry_cache", "to",
                                "transform_on_write"]
    assert params["to"].default == larder.PushMode.ONLINE
    assert params["allow_registry_cache"].default is True


def test_push_positional_arguments_and_future_times(online_store):
    store = online_store
    now = dt.datetime.now(UTC).replace(microsecond=0)
    row = ratings([9000031], [now - dt.timedelta(minutes=5)], [4])
    # The third positional argument is allow_registry_cache, as in Feast; a
    # target there is a TypeError, not a silently different push.
    report = store.push("user_ratings_push", row, True, "online")
    assert report["offline_rows"] == 0 and len(report["online"]) == 2
    with pytest.raises(TypeError, match="allow_registry_cache"):
        store.push("user_ratings_push", row, "offline")
    # Far-future event times would sit in tiles no read reaches: refused,
    # naming column, row, value.
    future = ratings([9000032, 9000032],
                     [now - dt.timedelta(hours=1), dt.datetime(9999, 12, 31, tzinfo=UTC)], [1, 2])
    with pytest.raises(larder.InvalidArgumentError,
                       match=r"df\.rating_timestamp\[1\]: event time 9999-12-31"):
        store.push("book_ratings_stream", future, to="online_and_offline")
    got = store.get_online_features(features=DAY, entity_rows=[{"user_id": 9000032}]).to_dict()
    assert got["count_day_user_rating"] == [0]  # nothing of the refused push landed


def test_delete_from_online_store(online_store):
    store = online_store
    now = dt.datetime.now(UTC).replace(microsecond=0)
    store.push("scores_push", {"user_id": [9000041, 9000042],
                               "score_timestamp": [now.isoformat()] * 2, "score": [1.5, 2.5]})
    feature = ["user_scores:score"]
    report = store.delete_from_online_store([{"user_id": 9000041}])
    assert report["entities"] == 1
    assert {"user_scores", "agg_user_features_1d"} <= set(report["feature_views"])
    assert "book_features" not in report["feature_views"]  # keyed by isbn
    got = store.get_online_features(features=feature,
                                    entity_rows=[{"user_id": 9000041}, {"user_id": 9000042}])
    assert got.to_dict()["score"] == [None, 2.5]
    assert got.statuses["score"] == ["NOT_FOUND", "PRESENT"]
    report = store.delete_from_online_store([{"user_id": 9000042}], feature_views=["user_scores"])
    assert report == {"entities": 1, "feature_views": ["user_scores"]}
    with pytest.raises(larder.InvalidArgumentError, match="join keys"):
        store.delete_from_online_store([{"user_id": 9000042}], feature_views=["book_features"])
    with pytest.raises(larder.NotFoundError):
        store.delete_from_online_store([{"no_such_key": 1}])
    with pytest.raises(TypeError, match="entity_rows"):
        store.delete_from_online_store({"user_id": 9000042})


def test_errors_and_type_errors(online_store, repo):
    store = online_store
    with pytest.raises(larder.NotFoundError) as e:
        store.get_online_features(features=["nope:x"], entity_rows=[{"user_id": 1}])
    assert "unknown feature view 'nope'" in str(e.value)
    assert isinstance(e.value, larder.LarderError)
    with pytest.raises(larder.InvalidArgumentError, match="user_id"):
        store.get_online_features(features=["user_features:country"], entity_rows=[{"isbn": "x"}])
    with pytest.raises(TypeError, match="'entity_rows'"):
        store.get_online_features(features=["user_features:country"], entity_rows=5)
    with pytest.raises(TypeError, match="user_id"):
        store.get_online_features(features=["user_features:country"],
                                  entity_rows=[{"user_id": object()}])
    with pytest.raises(TypeError, match="'start_date'"):
        store.materialize("2020-01-01", dt.datetime(2021, 1, 1))
    with pytest.raises(TypeError, match="'feature_views'"):
        store.materialize_incremental(dt.datetime(2021, 1, 1), feature_views="user_features")
    with pytest.raises(larder.InvalidArgumentError):
        store.materialize(dt.datetime(2021, 1, 1), dt.datetime(2020, 1, 1))
    with pytest.raises(TypeError, match="'repo_path'"):
        FeatureStore(repo_path=3)
    with pytest.raises(larder.NotFoundError):
        FeatureStore(repo_path=os.path.join(repo, "no_such_dir"))


def test_gil_released_during_long_calls(store, repo, tmp_path):
    # While one thread exports training data, another runs Python code.
    sql = entity_sql(repo, limit=10000)
    done = threading.Event()
    ticks = 0

    def work():
        try:
            for _ in range(3):
                store.get_historical_features(entity_df=sql, features=store.get_feature_service(
                    "model_v4")).to_parquet(tmp_path / "t.parquet")
        finally:
            done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    t.join()
    assert ticks > 3
