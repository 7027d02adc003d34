"""Train the book recommender on model_v1 ... model_v4 with Larder's Python SDK.

    scripts/demo.sh                                   # builds the demo repo in demo/
    third_party/sdk_venv/bin/python examples/book_recs/train.py --repo demo

For each feature service it builds point-in-time correct training data with
every rating as an entity row (the label is the rating), splits by time
(the last 365 days of ratings are the test set), fits scikit-learn's
HistGradientBoostingRegressor and prints the test RMSE per model version. It
saves a plot of RMSE by version, then fetches model_v4's online features for
a recent (user, book) pair whose features are all present online, and prints
the model's prediction from them. The online store must be materialized
(scripts/demo.sh does it) and the data recent (`larder demo-data` ends it at
the present by default), since online reads judge ttl, and the aggregations'
windows, against today's clock.

The rating aggregates (per user over 1, 7 and 365 days, per book over 365
days) are aggregation views: the value at a rating's time covers the ratings
before it, never the rating itself, so no version sees its label.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

from larder import FeatureStore

VERSIONS = ["model_v1", "model_v2", "model_v3", "model_v4"]
TEST_PERIOD = pd.Timedelta(days=365)
# How many of the latest ratings' pairs to try for the online prediction.
ONLINE_CANDIDATES = 200
# The model that predicts from online features.
ONLINE_VERSION = "model_v4"
ID_COLUMNS = ["user_id", "isbn", "event_timestamp", "rating"]
# Means over a window that holds no rating of the user are null (NULL_VALUE
# online, with a count of 0), as in many training rows. The generated ratings
# end at the start of today, so late in the UTC day the day's window before
# now holds few of them.
WINDOW_MEANS = {"avg_day_user_rating", "avg_week_user_rating"}


def encode(frame: pd.DataFrame, features: list, categories: dict) -> np.ndarray:
    """The feature columns as floats: strings as codes of the training
    categories (unknown -> -1, missing -> NaN, which the regressor handles)."""
    columns = []
    for name in features:
        column = frame[name]
        if name in categories:
            codes = pd.Categorical(column, categories=categories[name]).codes.astype(float)
            codes[column.isna().to_numpy()] = np.nan
            columns.append(codes)
        else:
            columns.append(pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))
    return np.column_stack(columns)


def fit(train: pd.DataFrame, features: list):
    from sklearn.ensemble import HistGradientBoostingRegressor

    categories = {
        name: sorted(train[name].dropna().unique())
        for name in features
        if train[name].dtype == object or pd.api.types.is_string_dtype(train[name])
    }
    model = HistGradientBoostingRegressor(max_iter=200, random_state=0)
    model.fit(encode(train, features, categories), train["rating"].to_numpy(dtype=float))
    return model, categories


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default="demo", help="the feature repo (default: demo)")
    parser.add_argument("--plot", default=None,
                        help="where to save the RMSE plot (default: REPO/data/rmse_by_version.png)")
    args = parser.parse_args()

    store = FeatureStore(repo_path=args.repo)
    ratings = os.path.join(store.repo_path, "data", "raw", "ratings.parquet")
    entity_sql = (
        "SELECT user_id, isbn, rating_timestamp AS event_timestamp, rating "
        f"FROM read_parquet('{ratings}')"
    )

    times = pd.to_datetime(pd.read_parquet(ratings, columns=["rating_timestamp"])["rating_timestamp"],
                           utc=True)
    split = times.max() - TEST_PERIOD

    results = []
    models = {}
    for version in VERSIONS:
        service = store.get_feature_service(version)
        frame = store.get_historical_features(entity_df=entity_sql, features=service).to_df()
        features = [c for c in frame.columns if c not in ID_COLUMNS]
        train = frame[frame["event_timestamp"] < split]
        test = frame[frame["event_timestamp"] >= split]
        model, categories = fit(train, features)
        predicted = model.predict(encode(test, features, categories))
        rmse = float(np.sqrt(np.mean((predicted - test["rating"].to_numpy(dtype=float)) ** 2)))
        results.append((version, len(features), len(train), len(test), rmse))
        models[version] = (model, categories, features)

    print(f"{'model':<10} {'features':>8} {'train rows':>11} {'test rows':>10} {'test RMSE':>10}")
    for version, n_features, n_train, n_test, rmse in results:
        print(f"{version:<10} {n_features:>8} {n_train:>11,} {n_test:>10,} {rmse:>10.4f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot = args.plot or os.path.join(store.repo_path, "data", "rmse_by_version.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar([r[0] for r in results], [r[4] for r in results], color="#4c72b0")
    ax.bar_label(bars, fmt="%.3f")
    ax.set_ylabel("test RMSE (rating, 0-10)")
    ax.set_title("Book ratings: test RMSE by feature service")
    ax.set_ylim(0, max(r[4] for r in results) * 1.15)
    fig.tight_layout()
    fig.savefig(plot)
    print(f"Saved {plot}")

    # Online: model_v4's features of a recent (user, book) pair, read as a
    # serving system would, at the present. A pair is used only when every
    # feature is PRESENT, but for a window mean that is null because its
    # window holds no rating: a missing value (a user who signed up longer ago
    # than the ttl, say) would make a prediction from nulls. Pairs with every
    # feature PRESENT come first.
    model, categories, features = models[ONLINE_VERSION]
    service = store.get_feature_service(ONLINE_VERSION)
    latest = pd.read_parquet(ratings, columns=["user_id", "isbn", "rating_timestamp"])
    latest = latest.sort_values("rating_timestamp", ascending=False, kind="stable")
    rows = [{"user_id": int(u), "isbn": str(i)}
            for u, i in latest[["user_id", "isbn"]].head(ONLINE_CANDIDATES).itertuples(index=False)]
    response = store.get_online_features(features=service, entity_rows=rows)
    statuses = response.statuses

    def nulls(k):
        return [name for name in features if statuses[name][k] != "PRESENT"]

    usable = sorted((k for k in range(len(rows))
                     if all(name in WINDOW_MEANS and statuses[name][k] == "NULL_VALUE"
                            for name in nulls(k))),
                    key=lambda k: len(nulls(k)))
    if not usable:
        print(f"None of the {len(rows)} latest (user, book) pairs has every {ONLINE_VERSION} feature "
              "online: materialize the repo (scripts/demo.sh does), with data that ends "
              "recently (larder demo-data --end defaults to today).", file=sys.stderr)
        return 1
    k = usable[0]
    online = response.to_df().iloc[[k]]
    prediction = float(model.predict(encode(online, features, categories))[0])
    print(f"Online features of {ONLINE_VERSION} for user {rows[k]['user_id']}, book {rows[k]['isbn']}:")
    print(online.drop(columns=["user_id", "isbn"]).to_string(index=False))
    if nulls(k):
        print("Null, no rating in the window: " + ", ".join(nulls(k)))
    print(f"Predicted rating: {prediction:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
