"""Creates the workshop's Hive tables from the example's generated data.

    python create_hive_tables.py --remote sc://127.0.0.1:15002 --data DIR

DIR holds users.parquet, books.parquet and ratings.parquet, as
`larder demo-data --out DIR` writes them. The tables are managed tables of
the Spark server's catalog (the Hive metastore of `scripts/spark.sh server`),
database book_recsys_apply, their rows copied into its warehouse: the
sources of examples/book_recs_spark/data_sources.yaml. An existing table is
replaced, so a second run with new data starts over.
"""
import argparse
import os
import sys

DATABASE = "book_recsys_apply"
TABLES = ("users", "books", "ratings")


def quote(name):
    return "`" + name.replace("`", "``") + "`"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remote", required=True, help="Spark Connect server, sc://host:port")
    parser.add_argument("--data", required=True, help="folder of the generated parquet files")
    args = parser.parse_args()
    data = os.path.abspath(args.data)
    for table in TABLES:
        path = os.path.join(data, table + ".parquet")
        if not os.path.isfile(path):
            sys.exit(f"create_hive_tables.py: {path} does not exist "
                     "(larder demo-data --out DIR writes it)")

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(args.remote).getOrCreate()
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {quote(DATABASE)}")
    for table in TABLES:
        name = f"{quote(DATABASE)}.{quote(table)}"
        path = os.path.join(data, table + ".parquet")
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        spark.sql(f"CREATE TABLE {name} USING parquet AS SELECT * FROM parquet.{quote(path)}")
        rows = spark.sql(f"SELECT count(*) AS n FROM {name}").collect()[0]["n"]
        print(f"{DATABASE}.{table}: {rows} rows")
    spark.stop()


if __name__ == "__main__":
    main()
