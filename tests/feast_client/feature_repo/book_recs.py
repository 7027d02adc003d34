"""The book_recs example (examples/book_recs/*.yaml) as Feast Python definitions.

Names, entities, join keys, schemas (dtypes) and ttls equal the YAML ones for
everything model_v4 uses; Feast reads online features of model_v4 from
`larder serve` through its `remote` online store.

Sources: the raw tables are the parquet files `larder demo-data` writes. The
SQL models' outputs live in Larder's DuckDB offline store, not in parquet
files; their FileSources name where an export would go. The test exercises
Feast's online read path only, which never opens a source, so those files
need not exist (`feast apply` does not read sources whose schema is given).

LARDER_REPO, set by the test, is the Larder repo whose data/ the paths name.
"""

import os
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
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
agg_book_features_source = FileSource(name="agg_book_features_source",
                                      path=_model("agg_book_features"),
                                      timestamp_field="rating_timestamp")
agg_user_features_source = FileSource(name="agg_user_features_source",
                                      path=_model("agg_user_features"),
                                      timestamp_field="rating_timestamp")
agg_user_features_1d_source = FileSource(name="agg_user_features_1d_source",
                                         path=_model("agg_user_features_1d"),
                                         timestamp_field="rating_timestamp")
avg_book_category_ratings_source = FileSource(name="avg_book_category_ratings_source",
                                              path=_model("avg_book_category_ratings"),
                                              timestamp_field="rating_timestamp")
user_ratings_push = PushSource(name="user_ratings_push",
                               batch_source=agg_user_features_1d_source)

# --- feature_views.yaml (the views model_v4 uses) ---------------------------
# The join key is listed in each schema so that `feast apply` need not infer
# it from the (possibly absent) source file; Feast makes it an entity column,
# not a feature.
book_features = FeatureView(
    name="book_features", entities=[book], ttl=timedelta(days=54750),
    schema=[Field(name="isbn", dtype=String),
            Field(name="language", dtype=String), Field(name="category", dtype=String)],
    source=books_source, tags={"team": "book_recs"})

book_agg_rating_features = FeatureView(
    name="book_agg_rating_features", entities=[book], ttl=timedelta(days=54750),
    schema=[Field(name="isbn", dtype=String),
            Field(name="avg_yr_book_rating", dtype=Float64),
            Field(name="count_yr_book_rating", dtype=Int64)],
    source=agg_book_features_source)

avg_book_category_rating_features = FeatureView(
    name="avg_book_category_rating_features", entities=[book], ttl=timedelta(days=1095),
    schema=[Field(name="isbn", dtype=String),
            Field(name="avg_yr_category_rating", dtype=Float64),
            Field(name="count_yr_category_rating", dtype=Int64)],
    source=avg_book_category_ratings_source)

user_features = FeatureView(
    name="user_features", entities=[user], ttl=timedelta(days=1095),
    schema=[Field(name="user_id", dtype=Int64), Field(name="country", dtype=String)],
    source=users_source)

user_agg_rating_features = FeatureView(
    name="user_agg_rating_features", entities=[user], ttl=timedelta(days=1095),
    schema=[Field(name="user_id", dtype=Int64),
            Field(name="avg_yr_user_rating", dtype=Float64),
            Field(name="count_yr_user_rating", dtype=Int64)],
    source=agg_user_features_source)

agg_user_features_1d = FeatureView(
    name="agg_user_features_1d", entities=[user], ttl=timedelta(days=1095),
    schema=[Field(name="user_id", dtype=Int64),
            Field(name="avg_day_user_rating", dtype=Float64),
            Field(name="count_day_user_rating", dtype=Int64)],
    source=user_ratings_push)

# --- feature_services.yaml --------------------------------------------------
model_v4 = FeatureService(
    name="model_v4",
    features=[book_features, user_features, book_agg_rating_features,
              user_agg_rating_features, agg_user_features_1d,
              avg_book_category_rating_features])
