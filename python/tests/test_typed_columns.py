"""Arrays, nulls and time zones across the language boundary, on a repo of its
own whose features are arrays (the book_recs example has none)."""

import datetime as dt
import textwrap

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from larder import FeatureStore

UTC = dt.timezone.utc


@pytest.fixture
def array_store(tmp_path):
    repo = tmp_path / "arrays"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text("project: arrays\n")
    (repo / "definitions.yaml").write_text(textwrap.dedent("""\
        entities:
          - {name: item, join_keys: [item_id], value_type: Int64}
        data_sources:
          - {name: items_source, type: file, path: data/items.parquet, timestamp_field: ts}
        feature_views:
          - name: item_features
            entities: [item]
            ttl: 0
            schema:
              - {name: scores, dtype: Array(Float64)}
              - {name: tags, dtype: Array(String)}
              - {name: price, dtype: Float64}
            source: items_source
        """))
    pq.write_table(pa.table({
        "item_id": pa.array([1, 2, 3], pa.int64()),
        "ts": pa.array([dt.datetime(2022, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")),
        "scores": pa.array([[1.5, 2.5], [], None], pa.list_(pa.float64())),
        "tags": pa.array([["a", "b"], ["c"], None], pa.list_(pa.string())),
        "price": pa.array([1.0, None, 3.0], pa.float64()),
    }), repo / "data" / "items.parquet")
    store = FeatureStore(repo_path=str(repo))
    store.apply()
    yield store
    store.close()


FEATURES = ["item_features:scores", "item_features:tags", "item_features:price"]


def test_training_data_keeps_arrays_nulls_and_utc(array_store):
    plus2 = dt.timezone(dt.timedelta(hours=2))
    entity_df = pd.DataFrame({
        "item_id": [1, 2, 3, 4],
        # 2023-01-01 02:00 at +02:00 is midnight UTC.
        "event_timestamp": [pd.Timestamp(2023, 1, 1, 2, tzinfo=plus2)] * 4,
    })
    table = array_store.get_historical_features(entity_df=entity_df, features=FEATURES).to_arrow()
    assert table.schema.field("scores").type == pa.list_(pa.float64())
    assert table.schema.field("tags").type == pa.list_(pa.string())
    assert table.schema.field("price").type == pa.float64()
    assert table.schema.field("event_timestamp").type == pa.timestamp("us", tz="UTC")
    rows = {r["item_id"]: r for r in table.to_pylist()}
    assert rows[1]["scores"] == [1.5, 2.5] and rows[1]["tags"] == ["a", "b"]
    assert rows[2]["scores"] == [] and rows[2]["price"] is None
    assert rows[3]["scores"] is None and rows[3]["tags"] is None and rows[3]["price"] == 3.0
    assert rows[4]["scores"] is None and rows[4]["tags"] is None  # no such item
    assert rows[1]["event_timestamp"] == dt.datetime(2023, 1, 1, tzinfo=UTC)


def test_online_arrays_after_materialize_and_write(array_store):
    array_store.materialize(dt.datetime(1900, 1, 1, tzinfo=UTC), dt.datetime(2100, 1, 1, tzinfo=UTC))
    got = array_store.get_online_features(features=FEATURES,
                                          entity_rows=[{"item_id": 1}, {"item_id": 3}]).to_dict()
    assert got["scores"] == [[1.5, 2.5], None]
    assert got["tags"] == [["a", "b"], None]
    assert got["price"] == [1.0, 3.0]
    # A DataFrame with list columns, written online: newer than the stored row.
    array_store.write_to_online_store("item_features", pd.DataFrame({
        "item_id": [3],
        "ts": [pd.Timestamp("2024-01-01", tz="UTC")],
        "scores": [[0.25]],
        "tags": [["x", "y", "z"]],
        "price": [None],
    }))
    got = array_store.get_online_features(features=FEATURES, entity_rows=[{"item_id": 3}]).to_dict()
    assert got["scores"] == [[0.25]]
    assert got["tags"] == [["x", "y", "z"]]
    assert got["price"] == [None]
