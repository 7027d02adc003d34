"""The book_recs example (examples/book_recs/*.yaml) as Feast Python definitions.

Names, entities, join keys, schemas (dtypes), ttls and the four feature
services equal the YAML ones. Two users:
- tests/feast_client: Feast reads model_v4's online features from
  `larder serve` through its `remote` online store;
- bench/feast/run.sh: Feast runs the same workload as Larder on the same files.

Sources: the raw tables are the parquet files `larder demo-data` writes. The
SQL models' outputs live in Larder's DuckDB offline store; bench/feast exports
each to data/models/NAME.parquet, where the model FileSources point. The
client test never opens a source, so there those files need not exist
(`feast apply` does not read sources whose schema is given).

The rating aggregates are Larder aggregation views (`aggregations:` with a
10-minute `aggregation_interval`). Feast 0.67 declares those only on a
StreamFeatureView, with `Aggregation` and tiling (`enable_tiling`,
`tiling_hop_size`, its tile size), over a PushSource or KafkaSource; the
twins below are such views, with the same output names, all over
user_ratings_push. (Larder's agg_user_features_1d reads the kinesis source
book_ratings_stream, whose rows are the same ratings; a Feast
StreamFeatureView does not take a KinesisSource.) What Feast does with
them differs from Larder:
- only its Spark, Ray and Flink compute engines evaluate time windows; the
  local engine (the default, used with the file and DuckDB offline stores)
  refuses them: `feast materialize` of these views fails with "Time window
  aggregation is not supported in the local compute engine";
- with the file offline store, get_historical_features reads the aggregated
  input column (`rating`), not the windowed values, and asking for an output
  such as `agg_user_features_1d:avg_day_user_rating` fails with a KeyError;
- its online store holds whatever a stream job last wrote for a key; Feast
  merges no tiles at read time, so the value is as fresh as that job;
- its windows are not documented as end-exclusive: nothing in Feast keeps a
  rating out of its own training row.
A Feast client reading through Larder's server (tests/feast_client) gets
Larder's values, which follow Larder's semantics.

LARDER_REPO is the Larder repo whose data/ the paths name.
"""

import os
from datetime import timedelta

from feast import (Aggregation, Entity, FeatureService, FeatureView, Field, FileSource,
                   PushSource, StreamFeatureView, ValueType)
from feast.types import Float64, Int64, String

DATA = os.path.join(os.environ.get("LARDER_REPO", "."), "data")


def _raw(name: str) -> str:
    return os.path.join(DATA, "raw", name + ".parquet")


def _model(name: str) -> str:
    return os.path.join(DATA, "models", name + ".parquet")


# --- entities.yaml ----------------------------------------------------------
user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64,
              description="A reader who rates books.")
book = Entity(name="book", join_keys=["isbn"], value_type=ValueType.STRING,
              description="A book, identified by its ISBN.")

# --- data_sources.yaml ------------------------------------------------------
users_source = FileSource(name="users_source", path=_raw("users"),
                          timestamp_field="signup_date")
books_source = FileSource(name="books_source", path=_raw("books"),
                          timestamp_field="created_at")
ratings_source = FileSource(name="ratings_source", path=_raw("ratings"),
                            timestamp_field="rating_timestamp")
avg_book_category_ratings_source = FileSource(name="avg_book_category_ratings_source",
                                              path=_model("avg_book_category_ratings"),
                                              timestamp_field="rating_timestamp")
bucketed_age_source = FileSource(name="bucketed_age_source", path=_model("bucketed_age"),
                                 timestamp_field="signup_date")
user_ratings_push = PushSource(name="user_ratings_push", batch_source=ratings_source)

# --- feature_views.yaml -----------------------------------------------------
def _view(name, entity, ttl_days, features, source, **kwargs):
    """A feature view; features: (name, dtype) pairs. The join key is listed in
    the schema so that `feast apply` need not infer it from the (possibly
    absent) source file; Feast makes it an entity column, not a feature."""
    key = entity.join_key
    key_type = Int64 if entity.value_type == ValueType.INT64 else String
    return FeatureView(name=name, entities=[entity], ttl=timedelta(days=ttl_days),
                       schema=[Field(name=key, dtype=key_type)]
                       + [Field(name=n, dtype=t) for n, t in features],
                       source=source, **kwargs)


# Larder's aggregation_interval: the tile size.
INTERVAL = timedelta(minutes=10)


def _aggregation_view(name, entity, aggregations, **kwargs):
    """A rating aggregation view; aggregations: (output name, function,
    window in days) over the `rating` column. The schema lists the join key
    and the outputs with their dtypes (mean: Float64, count: Int64)."""
    key = entity.join_key
    key_type = Int64 if entity.value_type == ValueType.INT64 else String
    dtypes = {"mean": Float64, "count": Int64}
    return StreamFeatureView(
        name=name, entities=[entity], source=user_ratings_push,
        schema=[Field(name=key, dtype=key_type)]
        + [Field(name=n, dtype=dtypes[f]) for n, f, _ in aggregations],
        aggregations=[Aggregation(column="rating", function=f, time_window=timedelta(days=d),
                                  name=n)
                      for n, f, d in aggregations],
        timestamp_field="rating_timestamp", enable_tiling=True, tiling_hop_size=INTERVAL,
        online=True, **kwargs)


book_features = _view("book_features", book, 54750,
                      [("language", String), ("category", String)], books_source,
                      tags={"team": "book_recs"})
book_agg_rating_features = _aggregation_view(
    "book_agg_rating_features", book,
    [("avg_yr_book_rating", "mean", 365), ("count_yr_book_rating", "count", 365)])
avg_book_category_rating_features = _view(
    "avg_book_category_rating_features", book, 1095,
    [("avg_yr_category_rating", Float64), ("count_yr_category_rating", Int64)],
    avg_book_category_ratings_source)
user_features = _view("user_features", user, 1095, [("country", String)], users_source)
user_age_features = _view("user_age_features", user, 1095, [("bucketed_age", Int64)],
                          bucketed_age_source)
user_agg_rating_features = _aggregation_view(
    "user_agg_rating_features", user,
    [("avg_yr_user_rating", "mean", 365), ("count_yr_user_rating", "count", 365)])
agg_user_features_1d = _aggregation_view(
    "agg_user_features_1d", user,
    [("avg_day_user_rating", "mean", 1), ("count_day_user_rating", "count", 1),
     ("avg_week_user_rating", "mean", 7), ("count_week_user_rating", "count", 7)])

# --- feature_services.yaml --------------------------------------------------
model_v1 = FeatureService(
    name="model_v1", features=[book_features, user_features, user_age_features])
model_v2 = FeatureService(
    name="model_v2",
    features=[book_features, user_features, user_age_features, book_agg_rating_features])
model_v3 = FeatureService(
    name="model_v3",
    features=[book_features, user_features, user_age_features, book_agg_rating_features,
              user_agg_rating_features])
model_v4 = FeatureService(
    name="model_v4",
    features=[book_features, user_features, book_agg_rating_features,
              user_agg_rating_features, agg_user_features_1d,
              avg_book_category_rating_features])
