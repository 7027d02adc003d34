// libFuzzer target for the feature server's request-body parsers
// (src/server/request_parsers.h). The first byte picks the parser, the rest
// is the body:
//   '0' ParseOnlineFeaturesRequest   '1' ParsePushRequest
//   '2' ParseWriteRequest            '3' ParseMaterializeRequest
//   '4' ParseMaterializeRequest(incremental)
//   '5' ParseDeleteRequest
// (any other byte b picks (b - '0') mod 6). A parser must return a request or
// an InvalidArgument, never crash, throw, hang or leak; a parsed request must
// keep the invariants the endpoints rely on, checked below.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "larder/push.h"
#include "larder/status.h"
#include "server/request_parsers.h"

namespace {

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

// A failure is InvalidArgument with a "field: ..." message.
void CheckError(const Status& status) {
  Check(status.code() == StatusCode::kInvalidArgument, "error is not InvalidArgument");
  Check(status.message().find(": ") != std::string::npos, "error message names no field");
}

// A df has columns, all of one length, which RowCount reports.
void CheckDf(const ColumnTable& df) {
  Check(!df.empty(), "df has no columns");
  const size_t rows = df.begin()->second.size();
  for (const auto& [name, values] : df) {
    Check(values.size() == rows, "df columns differ in length");
  }
  Check(larder::server::RowCount(df) == rows, "RowCount is not the column length");
}

void OnlineFeatures(std::string_view body) {
  auto request = larder::server::ParseOnlineFeaturesRequest(body);
  if (!request.ok()) return CheckError(request.status());
  Check(!request->entity_rows.empty(), "no entity columns");
  for (const auto& [join_key, values] : request->entity_rows) {
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
  auto push = larder::server::ParsePushRequest(body);
  if (!push.ok()) return CheckError(push.status());
  CheckDf(push->df);
  auto target = larder::ParsePushTarget(larder::PushTargetName(push->to));
  Check(target.ok() && *target == push->to, "push target does not round-trip");
}

void Write(std::string_view body) {
  auto write = larder::server::ParseWriteRequest(body);
  if (!write.ok()) return CheckError(write.status());
  CheckDf(write->df);
}

void Materialize(std::string_view body, bool incremental) {
  auto request = larder::server::ParseMaterializeRequest(body, incremental);
  if (!request.ok()) return CheckError(request.status());
  Check(request->start.has_value() != incremental, "start_ts set iff not incremental");
}

void Delete(std::string_view body) {
  auto request = larder::server::ParseDeleteRequest(body);
  if (!request.ok()) return CheckError(request.status());
  Check(!request->entities.empty(), "no entity columns");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (static_cast<uint8_t>(data[0] - '0') % 6) {
    case 0: OnlineFeatures(body); break;
    case 1: Push(body); break;
    case 2: Write(body); break;
    case 3: Materialize(body, /*incremental=*/false); break;
    case 4: Materialize(body, /*incremental=*/true); break;
    default: Delete(body); break;
  }
  return 0;
}
