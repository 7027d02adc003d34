# Peak memory of building the full-scale model_v4 training set as a pandas DataFrame
# through the SDK; the numbers are in docs/BENCHMARKS.md ("Python SDK: memory").
#   PYTHONPATH=build/python third_party/sdk_venv/bin/python bench/sdk_memory.py [REPO]
import resource, sys
from larder import FeatureStore
R = sys.argv[1] if len(sys.argv) > 1 else "/tmp/larder_bench_s1"
store = FeatureStore(repo_path=R)
sql = f"SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM read_parquet('{R}/data/raw/ratings.parquet')"
df = store.get_historical_features(entity_df=sql, features=store.get_feature_service("model_v4")).to_df()
size = df.memory_usage(deep=True).sum()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"rows {len(df):,} columns {len(df.columns)} DataFrame {size/2**20:.0f} MiB peak RSS {peak/2**20:.0f} MiB")
