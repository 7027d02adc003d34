"""Aggregation views through the SDK: pushes update the windows at once, and
get_online_features and get_historical_features give the same values."""

import datetime as dt
import subprocess

import pandas as pd
import pytest

from conftest import larder_binary

UTC = dt.timezone.utc

REPO = {
    "feature_store.yaml": (
        "project: aggsdk\nregistry: data/registry.db\nprovider: local\n"
        "online_store: {type: rocksdb, path: data/online}\n"
        "offline_store: {type: duckdb, path: data/offline.duckdb}\n"),
    "data/ratings.csv": "user_id,rating,rating_timestamp\n1,5,2020-01-01 00:00:00\n",
    "repo.yaml": (
        "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
        "data_sources:\n"
        "  - {name: ratings, type: file, path: data/ratings.csv, timestamp_field: rating_timestamp}\n"
        "  - {name: ratings_push, type: push, batch_source: ratings}\n"
        "feature_views:\n"
        "  - name: user_ratings\n    entities: [user]\n    source: ratings_push\n"
        "    aggregation_interval: 10m\n    aggregations:\n"
        "      - {column: rating, function: mean, time_window: 1d, name: avg_day}\n"
        "      - {column: rating, function: count, time_window: 1d, name: count_day}\n"
        "      - {column: rating, function: max, time_window: lifetime}\n"),
}


@pytest.fixture()
def agg_repo(tmp_path):
    for name, text in REPO.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    r = subprocess.run([larder_binary(), "-c", str(tmp_path), "apply"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return str(tmp_path)


def test_pushed_events_are_served_and_match_training_data(agg_repo):
    from larder import FeatureStore

    store = FeatureStore(repo_path=agg_repo)
    now = dt.datetime.now(UTC)
    # The current 10-minute window ends at `end`; the events are before it.
    end = now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)
    times = [end - dt.timedelta(hours=h) for h in (2, 3, 30)]
    df = pd.DataFrame({"user_id": [7, 7, 7], "rating": [8, 4, 10],
                       "rating_timestamp": times})
    report = store.push("ratings_push", df, to="online_and_offline")
    assert report["rows"] == 3

    features = ["user_ratings:avg_day", "user_ratings:count_day", "user_ratings:rating_max_lifetime"]
    got = store.get_online_features(features=features,
                                    entity_rows=[{"user_id": 7}, {"user_id": 8}]).to_dict()
    assert got == {"user_id": [7, 8], "avg_day": [6.0, None], "count_day": [2, 0],
                   "rating_max_lifetime": [10, None]}

    # Training data at the same instant gives the same values.
    job = store.get_historical_features(
        entity_df=pd.DataFrame({"user_id": [7, 8], "event_timestamp": [end, end]}),
        features=features)
    frame = job.to_df()
    assert frame["avg_day"].tolist()[0] == 6.0 and pd.isna(frame["avg_day"].tolist()[1])
    assert frame["count_day"].tolist() == [2, 0]
    assert frame["rating_max_lifetime"].tolist()[0] == 10

    # A row without the aggregated column is refused whole.
    with pytest.raises(Exception, match="rating"):
        store.push("ratings_push", pd.DataFrame({"user_id": [7], "rating_timestamp": [end]}),
                   to="online")
    store.close()
