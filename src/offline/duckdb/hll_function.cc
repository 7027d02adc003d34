#include "offline/duckdb/hll_function.h"


#include "aggregation/event.h"
#include "aggregation/hll.h"
#include "offline/duckdb/tie_key_function.h"

namespace larder::duckdb {
namespace {

using aggregation::Hll;

constexpr const char* kName = "larder_hll_count";

// A state is one pointer, to a sketch made on the first value: DuckDB's
// window segment trees keep many states, most of them empty or small.
Hll*& Sketch(duckdb_aggregate_state state) { return *reinterpret_cast<Hll**>(state); }

idx_t StateSize(duckdb_function_info) { return sizeof(Hll*); }

void Init(duckdb_function_info, duckdb_aggregate_state state) { Sketch(state) = nullptr; }

void Destroy(duckdb_aggregate_state* states, idx_t count) {
  for (idx_t i = 0; i < count; ++i) {
    delete Sketch(states[i]);
    Sketch(states[i]) = nullptr;
  }
}

void Update(duckdb_function_info, duckdb_data_chunk input, duckdb_aggregate_state* states) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  duckdb_vector v = duckdb_data_chunk_get_vector(input, 0);
  const uint64_t* hashes = static_cast<const uint64_t*>(duckdb_vector_get_data(v));
  uint64_t* validity = duckdb_vector_get_validity(v);
  for (idx_t row = 0; row < rows; ++row) {
    if (validity != nullptr && !duckdb_validity_row_is_valid(validity, row)) continue;
    Hll*& sketch = Sketch(states[row]);
    if (sketch == nullptr) sketch = new Hll();
    sketch->Add(aggregation::MixHash(hashes[row]));
  }
}

void Combine(duckdb_function_info, duckdb_aggregate_state* source, duckdb_aggregate_state* target,
             idx_t count) {
  for (idx_t i = 0; i < count; ++i) {
    const Hll* from = Sketch(source[i]);
    if (from == nullptr) continue;
    Hll*& into = Sketch(target[i]);
    if (into == nullptr) {
      into = new Hll(*from);
    } else {
      into->Merge(*from);
    }
  }
}

void Finalize(duckdb_function_info, duckdb_aggregate_state* source, duckdb_vector result,
              idx_t count, idx_t offset) {
  int64_t* out = static_cast<int64_t*>(duckdb_vector_get_data(result));
  for (idx_t i = 0; i < count; ++i) {
    const Hll* sketch = Sketch(source[i]);
    out[offset + i] = sketch == nullptr ? 0 : sketch->Estimate();
  }
}

}  // namespace

Status RegisterHllCountFunction(Connection& conn) {
  duckdb_aggregate_function f = duckdb_create_aggregate_function();
  duckdb_aggregate_function_set_name(f, kName);
  duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
  duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  duckdb_aggregate_function_add_parameter(f, ubigint);
  duckdb_aggregate_function_set_return_type(f, bigint);
  duckdb_aggregate_function_set_functions(f, StateSize, Init, Update, Combine, Finalize);
  duckdb_aggregate_function_set_destructor(f, Destroy);
  const duckdb_state state = duckdb_register_aggregate_function(conn.raw(), f);
  duckdb_destroy_logical_type(&ubigint);
  duckdb_destroy_logical_type(&bigint);
  duckdb_destroy_aggregate_function(&f);
  return RegistrationStatus(conn, state, kName);
}

}  // namespace larder::duckdb
