# Writes the Parquet fixtures of this directory (see README.md).
# Run: third_party/sdk_venv/bin/python tests/data/parquet_time_units/make_fixtures.py
import os

import pyarrow as pa
import pyarrow.parquet as pq

here = os.path.dirname(os.path.abspath(__file__))
# 2023-11-14 22:13:20 UTC, 500 ns later, and one whole microsecond later.
ns = [1700000000000000500, 1700000000000001000]
table = pa.table({
    "user_id": pa.array([1, 2], type=pa.int64()),
    "utc_ns": pa.array(ns, type=pa.timestamp("ns", tz="UTC")),
    "naive_ns": pa.array(ns, type=pa.timestamp("ns")),
    "utc_us": pa.array([n // 1000 for n in ns], type=pa.timestamp("us", tz="UTC")),
    "score": pa.array([0.5, 1.5], type=pa.float64()),
})
pq.write_table(table, os.path.join(here, "utc_nanos.parquet"))
# Legacy INT96 timestamps (nanoseconds, no unit in the file).
pq.write_table(pa.table({"user_id": pa.array([1], type=pa.int64()),
                         "int96_ts": pa.array(ns[:1], type=pa.timestamp("ns"))}),
               os.path.join(here, "int96.parquet"), use_deprecated_int96_timestamps=True)
