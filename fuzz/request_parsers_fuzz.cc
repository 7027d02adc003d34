// libFuzzer target for the feature server's request-body parsers
// (src/server/request_parsers.h). The first byte picks the parser, the rest
// is the body:
//   '0' ParseOnlineFeaturesRequest   '1' ParsePushRequest
//   '2' ParseWriteRequest            '3' ParseMaterializeRequest
//   '4' ParseMaterializeRequest(incremental)
//   '5' ParseDeleteRequest
// (any other byte b picks (b - '0') mod 6). Bytes from '6' up (((b - '0') / 6)
// odd) parse under a ParseBudget as the server does: at most kMaxRows rows
// per column, and a RequestMemory of kCap bytes in a pool that others already
// hold part of (the second byte says how much, in kPoolStep units; the body
// starts after it). A parser must return a request or an InvalidArgument,
// never crash, throw, hang or leak; a parsed request must keep the
// invariants the endpoints rely on, checked below, and a budgeted parse
// must keep within its budget, give back all it took, and fail for a limit
// only with the failure that names it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "larder/push.h"
#include "larder/status.h"
#include "server/request_memory.h"
#include "server/request_parsers.h"

namespace {

using larder::server::ParseBudget;
using larder::server::ParseFailure;
using larder::server::RequestMemory;

constexpr size_t kMaxRows = 4;
constexpr size_t kCap = 256 * 1024;
constexpr size_t kPoolLimit = 1024 * 1024;
constexpr size_t kPoolStep = kPoolLimit / 16;

using larder::ColumnTable;
using larder::ScalarType;
using larder::Status;
using larder::StatusCode;
using larder::Value;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "request_parsers_fuzz: invariant broken: %s\n", what);
  std::abort();
}

void Check(bool ok, const char* what) {
  if (!ok) Fail(what);
}

// The budget of the current input; null when it parses without one.
ParseBudget* budget = nullptr;

// A failure is InvalidArgument with a "field: ..." message; a limit's
// failure only happens under a budget.
void CheckError(const Status& status) {
  Check(status.code() == StatusCode::kInvalidArgument, "error is not InvalidArgument");
  Check(status.message().find(": ") != std::string::npos, "error message names no field");
  if (budget == nullptr) return;
  if (budget->failure == ParseFailure::kTooManyRows) {
    Check(status.message().find("rows, the limit per request") != std::string::npos,
          "a row limit failure that does not say so");
  }
}

// Under a budget, no column is longer than kMaxRows.
void CheckRows(size_t rows) {
  Check(budget == nullptr || rows <= kMaxRows, "a column passed the row limit");
}

// A df has columns, all of one length, which RowCount reports.
void CheckDf(const ColumnTable& df) {
  Check(!df.empty(), "df has no columns");
  const size_t rows = df.begin()->second.size();
  for (const auto& [name, values] : df) {
    Check(values.size() == rows, "df columns differ in length");
  }
  Check(larder::server::RowCount(df) == rows, "RowCount is not the column length");
  CheckRows(rows);
}

void OnlineFeatures(std::string_view body) {
  auto request = larder::server::ParseOnlineFeaturesRequest(body, budget);
  if (!request.ok()) return CheckError(request.status());
  Check(!request->entity_rows.empty(), "no entity columns");
  for (const auto& [join_key, values] : request->entity_rows) {
    CheckRows(values.size());
    for (const Value& v : values) {
      Check(!v.is_null(), "null entity value");
      const ScalarType s = v.type().scalar;
      Check(!v.type().is_array &&
                (s == ScalarType::kInt64 || s == ScalarType::kString || s == ScalarType::kBool),
            "entity value is not Int64, String or Bool");
    }
  }
}

void Push(std::string_view body) {
  auto push = larder::server::ParsePushRequest(body, budget);
  if (!push.ok()) return CheckError(push.status());
  CheckDf(push->df);
  auto target = larder::ParsePushTarget(larder::PushTargetName(push->to));
  Check(target.ok() && *target == push->to, "push target does not round-trip");
}

void Write(std::string_view body) {
  auto write = larder::server::ParseWriteRequest(body, budget);
  if (!write.ok()) return CheckError(write.status());
  CheckDf(write->df);
}

void Materialize(std::string_view body, bool incremental) {
  auto request = larder::server::ParseMaterializeRequest(body, incremental, budget);
  if (!request.ok()) return CheckError(request.status());
  Check(request->start.has_value() != incremental, "start_ts set iff not incremental");
}

void Delete(std::string_view body) {
  auto request = larder::server::ParseDeleteRequest(body, budget);
  if (!request.ok()) return CheckError(request.status());
  Check(!request->entities.empty(), "no entity columns");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = static_cast<uint8_t>(data[0] - '0');
  const bool budgeted = (pick / 6) % 2 == 1 && size >= 2;
  const size_t skip = budgeted ? 2 : 1;
  const std::string_view body(reinterpret_cast<const char*>(data) + skip, size - skip);
  const size_t others = budgeted ? (data[1] % 17) * kPoolStep : 0;
  std::atomic<size_t> pool{others};
  RequestMemory memory(&pool, kPoolLimit, kCap);
  ParseBudget limits;
  limits.max_rows = kMaxRows;
  limits.memory = &memory;
  budget = budgeted ? &limits : nullptr;
  switch (pick % 6) {
    case 0: OnlineFeatures(body); break;
    case 1: Push(body); break;
    case 2: Write(body); break;
    case 3: Materialize(body, /*incremental=*/false); break;
    case 4: Materialize(body, /*incremental=*/true); break;
    default: Delete(body); break;
  }
  Check(memory.held() <= kCap, "a parse held more than its cap");
  Check(pool.load() == others + memory.held(), "the pool lost count");
  memory.ReleaseAll();
  Check(pool.load() == others, "memory not given back");
  if (budgeted && limits.failure == ParseFailure::kBusy) {
    Check(others > 0, "busy with nobody else holding memory");
  }
  budget = nullptr;
  return 0;
}
