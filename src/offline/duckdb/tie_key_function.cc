#include "offline/duckdb/tie_key_function.h"

#include <string>
#include <vector>

#include "offline/duckdb/duckdb_result.h"
#include "offline/duckdb/vector_values.h"
#include "online/record_codec.h"
#include "online/value_codec.h"

namespace larder::duckdb {
namespace {

constexpr const char* kName = "larder_tie_key";
// Hashed in place of an array that holds a NULL element: no value encoding
// starts with this byte (tags are 0x00..0x08 and 0x80..0x88).
constexpr char kNullElementMarker = '\x7f';

// One character per dtype: 'a' + scalar, upper case for an array.
char DtypeCode(const ValueType& t) {
  const char c = static_cast<char>('a' + static_cast<int>(t.scalar));
  return t.is_array ? static_cast<char>(c - 'a' + 'A') : c;
}

bool ParseDtypeCodes(std::string_view codes, std::vector<ValueType>* out) {
  out->clear();
  for (char c : codes) {
    const bool array = c >= 'A' && c <= 'Z';
    const int scalar = (array ? c - 'A' : c - 'a');
    if (scalar < 0 || scalar > static_cast<int>(ScalarType::kUnixTimestamp)) return false;
    out->push_back({static_cast<ScalarType>(scalar), array});
  }
  return true;
}

void TieKey(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  const idx_t columns = duckdb_data_chunk_get_column_count(input);
  uint64_t* result = static_cast<uint64_t*>(duckdb_vector_get_data(output));
  if (rows == 0) return;
  duckdb_vector codes_vector = duckdb_data_chunk_get_vector(input, 0);
  std::vector<ValueType> types;
  if (!IsValid(codes_vector, 0) || !ParseDtypeCodes(StringAt(codes_vector, 0), &types) ||
      types.size() + 1 != columns) {
    duckdb_scalar_function_set_error(info, "larder_tie_key: malformed dtype list");
    return;
  }
  std::vector<duckdb_vector> vectors(types.size());
  std::vector<ColumnType> have(types.size());
  for (size_t c = 0; c < types.size(); ++c) {
    vectors[c] = duckdb_data_chunk_get_vector(input, c + 1);
    duckdb_logical_type t = duckdb_vector_get_column_type(vectors[c]);
    have[c] = ColumnTypeOf(t);
    duckdb_destroy_logical_type(&t);
    if (!Accepts(types[c], have[c])) {
      const std::string message = std::string(kName) + ": argument " + std::to_string(c + 2) +
                                  " is " + DuckTypeName(have[c].element) + ", not " +
                                  ValueTypeName(types[c]);
      duckdb_scalar_function_set_error(info, message.c_str());
      return;
    }
  }
  std::string section;
  Value value;
  for (idx_t row = 0; row < rows; ++row) {
    section.clear();
    online::PutVarint(types.size(), &section);
    for (size_t c = 0; c < types.size(); ++c) {
      if (!IsValid(vectors[c], row)) {
        online::EncodeValue(Value::Null(), &section);
      } else if (ValueAt(vectors[c], row, types[c], have[c], &value)) {
        online::EncodeValue(value, &section);
      } else {
        section.push_back(kNullElementMarker);
      }
    }
    result[row] = online::RecordTieKey(section);
  }
}

}  // namespace

Status RegisterTieKeyFunction(Connection& conn) {
  duckdb_scalar_function f = duckdb_create_scalar_function();
  duckdb_scalar_function_set_name(f, kName);
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_logical_type any = duckdb_create_logical_type(DUCKDB_TYPE_ANY);
  duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
  duckdb_scalar_function_add_parameter(f, varchar);
  duckdb_scalar_function_set_varargs(f, any);
  duckdb_scalar_function_set_return_type(f, ubigint);
  duckdb_scalar_function_set_special_handling(f);  // NULL arguments are values too
  duckdb_scalar_function_set_function(f, TieKey);
  const duckdb_state state = duckdb_register_scalar_function(conn.raw(), f);
  duckdb_destroy_logical_type(&varchar);
  duckdb_destroy_logical_type(&any);
  duckdb_destroy_logical_type(&ubigint);
  duckdb_destroy_scalar_function(&f);
  return RegistrationStatus(conn, state, kName);
}

Status RegistrationStatus(Connection& conn, duckdb_state state, const std::string& name) {
  if (state == DuckDBSuccess) return Status::OK();
  Result<std::optional<std::string>> found =
      conn.QueryScalar("SELECT count(*) FROM duckdb_functions() WHERE function_name = " +
                           QuoteLiteral(name),
                       "the " + name + " function");
  if (found.ok() && found->has_value() && **found != "0") return Status::OK();
  return Status::Internal("cannot register the SQL function " + name);
}

std::string TieKeySql(std::span<const std::string> columns, std::span<const ValueType> types) {
  std::string codes;
  for (const ValueType& t : types) codes += DtypeCode(t);
  std::string sql = std::string(kName) + "('" + codes + "'";
  for (const std::string& c : columns) sql += ", " + c;
  return sql + ")";
}

}  // namespace larder::duckdb
