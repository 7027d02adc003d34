"""Feast's side of bench/feast: one operation per process, so that each is
timed and its memory measured like the `larder` command it is compared with.

    python feast_ops.py historical REPO ENTITIES.parquet SERVICE OUT.parquet
    python feast_ops.py online REPO PAIRS.json SERVICE OUT.json

historical: Feast's get_historical_features for the entity rows in a
parquet file (row_id, join keys, event_timestamp), written to parquet.
online: Feast's get_online_features (its Python read path, straight from the
online store) for a JSON list of entity rows; writes the feature names, values
and status names, feature by feature.
"""

import json
import sys
import time


def historical(repo, entities, service, out):
    import pandas as pd
    from feast import FeatureStore

    store = FeatureStore(repo_path=repo)
    entity_df = pd.read_parquet(entities)
    started = time.monotonic()
    job = store.get_historical_features(entity_df=entity_df,
                                        features=store.get_feature_service(service))
    df = job.to_df()
    df.to_parquet(out, index=False)
    print("wrote %d rows x %d columns in %.2f s" % (len(df), df.shape[1],
                                                     time.monotonic() - started))


def online(repo, pairs, service, out):
    from feast import FeatureStore
    from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

    store = FeatureStore(repo_path=repo)
    with open(pairs) as f:
        rows = json.load(f)
    response = store.get_online_features(features=store.get_feature_service(service),
                                         entity_rows=rows)
    proto = response.proto
    names = list(proto.metadata.feature_names.val)
    # As in Feast's JSON: one result per name (join keys first), each with
    # one value and one status per entity row.
    result = {"names": names,
              "values": [[_plain(x) for x in r.values] for r in proto.results],
              "statuses": [[FieldStatus.Name(x) for x in r.statuses] for r in proto.results]}
    with open(out, "w") as f:
        json.dump(result, f)


def _plain(value):
    """A Feast Value proto as a plain Python value (None when unset)."""
    kind = value.WhichOneof("val")
    return None if kind is None else getattr(value, kind)


if __name__ == "__main__":
    ops = {"historical": historical, "online": online}
    if len(sys.argv) != 6 or sys.argv[1] not in ops:
        sys.exit(__doc__)
    ops[sys.argv[1]](*sys.argv[2:])
