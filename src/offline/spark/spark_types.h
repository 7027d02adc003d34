// Spark's type names in the vocabulary of ColumnInfo::type (DuckDB's
// spelling; repo/column_types.h), so that Spark columns meet the one table of
// type compatibility.
#pragma once

#include <string>
#include <string_view>

namespace larder::offline::spark {

// Translates a Spark type name, as Spark Connect's analyzer or DESCRIBE
// spells it (`long` or `bigint`, `integer` or `int`, `string`, `varchar(n)`,
// `decimal(10,2)`, `timestamp`, `timestamp_ntz`, `array<int>`, ...):
//   byte/tinyint TINYINT, short/smallint SMALLINT, integer/int INTEGER,
//   long/bigint BIGINT, float/real FLOAT, double DOUBLE, decimal(p,s)
//   DECIMAL(p,s), string/varchar(n)/char(n) VARCHAR, binary BLOB, boolean
//   BOOLEAN, date DATE, timestamp (Spark's local-time-zone timestamp, an
//   instant) TIMESTAMP WITH TIME ZONE, timestamp_ntz TIMESTAMP, array<T> T[].
// Any other type (map, struct, interval, void, variant) is returned as
// "SPARK " + the name: no dtype holds it, and errors show what Spark said.
// Case and spaces inside the name do not matter.
std::string CanonicalColumnType(std::string_view spark_type);

}  // namespace larder::offline::spark
