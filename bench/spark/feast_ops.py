"""Feast's side of bench/spark: one get_historical_features per process, so
that it is timed and its memory measured like the `larder historical`
command it is compared with.

    python feast_ops.py REPO ENTITIES.parquet SERVICE OUT.parquet [spark|dataframe|sql]

REPO's feature_store.yaml names Feast's Spark offline store. The entity rows
(row_id, join keys, event_timestamp) reach Feast as
- spark (the default): a Spark DataFrame reading the parquet file, so Spark
  reads the file, as it does for Larder;
- dataframe: a pandas DataFrame read here, which Feast uploads with
  createDataFrame;
- sql: Spark SQL over the file. Feast 0.67 checks that its result is not
  empty through DataFrame.rdd, which a Spark Connect session does not have
  (PySparkNotImplementedError); it works with a classic session only.
Feast's session is a Spark Connect one when
SPARK_REMOTE is set, else whatever the repo's spark_conf makes (pyspark's
SparkSession.builder decides). The result, to_df(), is written to parquet.
"""

import sys
import time


def main(repo, entities, service, out, mode="spark"):
    started = time.monotonic()
    from feast import FeatureStore

    store = FeatureStore(repo_path=repo)
    if mode == "spark":
        # The session Feast's store then uses: made from the repo's spark_conf.
        from feast.infra.offline_stores.contrib.spark_offline_store.spark import (
            get_spark_session_or_start_new_with_repoconfig)
        session = get_spark_session_or_start_new_with_repoconfig(store.config.offline_store)
        entity_df = session.read.parquet(entities)
    elif mode == "sql":
        entity_df = "SELECT * FROM parquet.`%s`" % entities.replace("`", "``")
    elif mode == "dataframe":
        import pandas as pd
        entity_df = pd.read_parquet(entities)
    else:
        sys.exit(__doc__)
    job = store.get_historical_features(entity_df=entity_df,
                                        features=store.get_feature_service(service))
    df = job.to_df()
    df.to_parquet(out, index=False)
    print("wrote %d rows x %d columns in %.2f s" % (len(df), df.shape[1],
                                                     time.monotonic() - started))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    main(*sys.argv[1:])
