// The one table of type compatibility between the columns an offline store
// reports and Larder's dtypes. Every backend names column types in one
// vocabulary (ColumnInfo::type, DuckDB's spelling: BIGINT, VARCHAR,
// TIMESTAMP WITH TIME ZONE, DECIMAL(p,s), DATE, X[] for a list, ...); a
// backend whose engine spells them otherwise translates (Spark's `bigint` is
// BIGINT, `string` VARCHAR, `array<int>` INTEGER[]).
#pragma once

#include <optional>
#include <string_view>

#include "larder/types.h"

namespace larder::repo {

// True when a column of `column_type` holds values of `dtype` without loss
// of meaning: what a feature's, or a model's declared, dtype needs.
// Integers of up to 32 bits (signed, or unsigned up to 16) hold Int32; up to
// 64 (unsigned up to 32) Int64; floats, decimals and those integers the
// floats; VARCHAR String; BLOB Bytes; BOOLEAN Bool; TIMESTAMP (with or
// without a zone, any unit) and DATE UnixTimestamp (a date as midnight UTC).
bool ColumnHolds(const ValueType& dtype, std::string_view column_type);

// True when the values of a column of `column_type` compare with join keys
// of `dtype`: as ColumnHolds, except that an integer column of any width
// matches an integer key (a key is compared, not stored, so an entity table's
// BIGINT or HUGEINT matches an Int32 entity).
bool ColumnMatchesKey(const ValueType& dtype, std::string_view column_type);

// The dtype that reads a column of `column_type` as it is, the inverse of
// ColumnHolds; nullopt for types that no dtype holds (UBIGINT, HUGEINT,
// INTERVAL, structs, ...).
std::optional<ValueType> DtypeOfColumn(std::string_view column_type);

// A timestamp (with or without a zone) or a date: what event and created
// timestamp columns may be.
bool IsTimeColumn(std::string_view column_type);

}  // namespace larder::repo
