"""Writes the Arrow IPC streams that ipc_stream_decoder_test.cc decodes, with
pyarrow (the reference producer), and Parquet files of the same tables that
DuckDB reads for the expected values.

    python make_ipc_streams.py <out_dir>

Files (`.arrows`: an IPC stream, as Spark Connect sends one per batch):
  all_types.arrows/.parquet   every supported type, with nulls, in 3 batches
  chunk_<i>.arrows            the same table, one complete stream per batch
  empty.arrows                the schema alone (an empty result)
  slice.arrows/.parquet       rows 3..9 of the table (sliced arrays)
  intervals.arrows            duration and interval, which Parquet cannot hold
  other_schema.arrows         a different schema (the mismatch test)
  zstd.arrows, dictionary.arrows, float16.arrows, deep.arrows (lists 70 deep)
                              refused inputs
  fuzz_seed_*.arrows          small inputs for fuzz/corpus/arrow_ipc (three_chunks:
                              streams one after another, as the fuzz target splits them)
"""
import datetime as dt
import decimal
import sys

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq


def stream_bytes(table, batches=None, options=None):
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema, options=options) as w:
        for b in batches if batches is not None else table.to_batches():
            w.write_batch(b)
    return sink.getvalue().to_pybytes()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def all_types_table(n=10):
    def maybe(i, v):
        return None if i % 4 == 1 else v

    rows = range(n)
    cols = {
        "id": pa.array(list(rows), pa.int64()),
        "nulls": pa.nulls(n),
        "b": pa.array([maybe(i, i % 3 == 0) for i in rows], pa.bool_()),
        "i8": pa.array([maybe(i, -128 + i) for i in rows], pa.int8()),
        "i16": pa.array([maybe(i, -30000 + i) for i in rows], pa.int16()),
        "i32": pa.array([maybe(i, -2_000_000_000 + i) for i in rows], pa.int32()),
        "i64": pa.array([maybe(i, -9_000_000_000_000_000_000 + i) for i in rows], pa.int64()),
        "u8": pa.array([maybe(i, 250 + i % 5) for i in rows], pa.uint8()),
        "u16": pa.array([maybe(i, 65000 + i) for i in rows], pa.uint16()),
        "u32": pa.array([maybe(i, 4_000_000_000 + i) for i in rows], pa.uint32()),
        "u64": pa.array([maybe(i, 18_000_000_000_000_000_000 + i) for i in rows], pa.uint64()),
        "f32": pa.array([maybe(i, 1.5 * i - 3.25) for i in rows], pa.float32()),
        "f64": pa.array([maybe(i, 1e300 / (i + 1)) for i in rows], pa.float64()),
        "s": pa.array([maybe(i, "héllo " * (i % 3) + str(i)) for i in rows], pa.utf8()),
        "ls": pa.array([maybe(i, "large " + str(i) * i) for i in rows], pa.large_utf8()),
        "bin": pa.array([maybe(i, bytes(range(i))) for i in rows], pa.binary()),
        "lbin": pa.array([maybe(i, b"\x00\xff" * i) for i in rows], pa.large_binary()),
        "fsb": pa.array([maybe(i, bytes([i, i + 1, i + 2])) for i in rows], pa.binary(3)),
        "d32": pa.array([maybe(i, dt.date(1969, 12, 25) + dt.timedelta(days=400 * i))
                         for i in rows], pa.date32()),
        "d64": pa.array([maybe(i, dt.date(2000, 2, 28) + dt.timedelta(days=i)) for i in rows],
                        pa.date64()),
        "t32": pa.array([maybe(i, dt.time(i, 30, 15)) for i in rows], pa.time32("ms")),
        "t64": pa.array([maybe(i, dt.time(23 - i, 1, 2, 123456)) for i in rows], pa.time64("us")),
        "ts_s": pa.array([maybe(i, dt.datetime(2024, 3, 1, 12, 0, i)) for i in rows],
                         pa.timestamp("s")),
        "ts_ms": pa.array([maybe(i, dt.datetime(1950, 1, 1, 0, 0, 0, 1000 * i)) for i in rows],
                          pa.timestamp("ms")),
        "ts_us_utc": pa.array([maybe(i, dt.datetime(2024, 3, 1, 12, i, 0, 7, tzinfo=dt.timezone.utc))
                               for i in rows], pa.timestamp("us", tz="UTC")),
        "ts_ns_tz": pa.array([maybe(i, 1_700_000_000_123_456_789 + i) for i in rows],
                             pa.timestamp("ns", tz="America/New_York")),
        "dec": pa.array([maybe(i, decimal.Decimal(f"{i * 1234567}.{i:02d}")) for i in rows],
                        pa.decimal128(12, 2)),
        "dec38": pa.array([maybe(i, decimal.Decimal("-12345678901234567890123456.789012345678")
                                 + i) for i in rows], pa.decimal128(38, 12)),
        "lst": pa.array([maybe(i, [j if j % 3 else None for j in range(i % 4)]) for i in rows],
                        pa.list_(pa.int64())),
        "llst": pa.array([maybe(i, ["x" * j for j in range(i % 3)]) for i in rows],
                         pa.large_list(pa.utf8())),
        "fsl": pa.array([maybe(i, [i, i * 2, None if i % 2 else i * 3]) for i in rows],
                        pa.list_(pa.int32(), 3)),
        "st": pa.array([maybe(i, {"a": i if i % 3 else None, "b": "s" + str(i)}) for i in rows],
                       pa.struct([("a", pa.int32()), ("b", pa.utf8())])),
        "mp": pa.array([maybe(i, [("k" + str(j), j * i) for j in range(i % 3)]) for i in rows],
                       pa.map_(pa.utf8(), pa.int64())),
        "lst_st": pa.array([maybe(i, [{"x": j, "y": [j] * j} for j in range(i % 3)]) for i in rows],
                           pa.list_(pa.struct([("x", pa.int16()), ("y", pa.list_(pa.float64()))]))),
    }
    schema = pa.schema([pa.field(k, v.type, nullable=(k != "id")) for k, v in cols.items()])
    return pa.Table.from_arrays(list(cols.values()), schema=schema)


def main(out):
    table = all_types_table()
    batches = [table.slice(0, 4), table.slice(4, 3), table.slice(7, 3)]
    batches = [b.combine_chunks().to_batches()[0] for b in batches]
    write(f"{out}/all_types.arrows", stream_bytes(table, batches))
    pq.write_table(table, f"{out}/all_types.parquet", version="2.6")
    for i, b in enumerate(batches):
        write(f"{out}/chunk_{i}.arrows", stream_bytes(table, [b]))
    write(f"{out}/empty.arrows", stream_bytes(table, []))
    sliced = table.slice(3, 7)
    write(f"{out}/slice.arrows", stream_bytes(sliced, [sliced.to_batches()[0]]))
    pq.write_table(sliced, f"{out}/slice.parquet", version="2.6")
    # Types that Parquet cannot hold; the test knows DuckDB's rendering.
    times = pa.table({
        "id": pa.array([0, 1, 2], pa.int64()),
        "dur": pa.array([1_500_000, None, -86_400_000_000], pa.duration("us")),
        "mdn": pa.array([pa.MonthDayNano([14, 3, 4_000]), None, pa.MonthDayNano([-1, 0, 0])],
                        pa.month_day_nano_interval()),
    })
    write(f"{out}/intervals.arrows", stream_bytes(times))
    deep = pa.int64()
    for _ in range(70):
        deep = pa.list_(deep)
    write(f"{out}/deep.arrows", stream_bytes(pa.table({"d": pa.array([], deep)}), []))
    other = table.drop_columns(["s"]).append_column("s", pa.array(range(10), pa.int32()))
    write(f"{out}/other_schema.arrows", stream_bytes(other))
    write(f"{out}/zstd.arrows",
          stream_bytes(table, options=ipc.IpcWriteOptions(compression="zstd")))
    dict_table = pa.table({"c": pa.array(["a", "b", "a"]).dictionary_encode()})
    write(f"{out}/dictionary.arrows", stream_bytes(dict_table))
    write(f"{out}/float16.arrows",
          stream_bytes(pa.table({"h": pa.array([1.5], pa.float16())})))
    # Small seeds for the fuzzer.
    small = all_types_table(3)
    write(f"{out}/fuzz_seed_all_types.arrows", stream_bytes(small))
    write(f"{out}/fuzz_seed_empty.arrows", stream_bytes(small, []))
    write(f"{out}/fuzz_seed_strings.arrows",
          stream_bytes(pa.table({"s": ["a", None, "ccc"], "i": [1, 2, None]})))
    write(f"{out}/fuzz_seed_nested.arrows",
          stream_bytes(small.select(["lst", "llst", "fsl", "st", "mp", "lst_st"])))
    strings = pa.table({"s": ["a", None, "ccc"], "i": [1, 2, None]})
    write(f"{out}/fuzz_seed_three_chunks.arrows",  # one stream per row, as Spark sends
          b"".join(stream_bytes(strings, [strings.slice(i, 1).to_batches()[0]])
                   for i in range(3)))


if __name__ == "__main__":
    main(sys.argv[1])
