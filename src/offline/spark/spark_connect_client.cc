#include "offline/spark/spark_connect_client.h"

#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>

#include "spark/connect/base.grpc.pb.h"
#include "spark/connect/base.pb.h"

namespace larder::offline::spark {
namespace {

namespace pb = ::spark::connect;

constexpr int kDefaultPort = 15002;
// The largest response message accepted. Spark sends Arrow batches of at
// most spark.connect.grpc.arrow.maxBatchSize (4 MiB by default), but a
// batch holds at least one row, however large.
constexpr int kMaxReceiveBytes = 256 * 1024 * 1024;
// How long an interrupt of a query whose deadline passed may take.
constexpr std::chrono::seconds kInterruptTimeout{5};

// The parameters of a connection string, declared once.
constexpr std::array<std::string_view, 5> kParameters = {"token", "user_id", "user_agent",
                                                         "use_ssl", "session_id"};

std::string KnownParameters() {
  std::string out;
  for (std::string_view p : kParameters) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : HexValue(s[i]) < 0) return false;
  }
  return true;
}

// A random UUID v4 (RFC 4122), lower case.
std::string NewUuid() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < b.size(); i += 8) {
    const uint64_t r = rng();
    for (size_t j = 0; j < 8; ++j) b[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
  return out;
}

std::string Millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// What Spark says about an error, from the google.rpc.Status that gRPC
// carries as the status's details: its ErrorInfo's reason (the exception's
// class) and metadata errorClass and sqlState. Decoded from the wire format
// by hand, since Debian ships no C++ code of google/rpc's protos.
struct SparkErrorInfo {
  std::string reason;
  std::string error_class;
  std::string sql_state;
};

using google::protobuf::io::CodedInputStream;

// Reads the fields of one message, calling `on_field(number, bytes)` for
// each length-delimited field and skipping the others. False when the
// bytes do not parse.
template <typename F>
bool ForEachBytesField(std::string_view data, F&& on_field) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()), static_cast<int>(data.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return true;
    const uint32_t number = tag >> 3;
    switch (tag & 7) {
      case 0: {
        uint64_t v = 0;
        if (!in.ReadVarint64(&v)) return false;
        break;
      }
      case 1:
        if (!in.Skip(8)) return false;
        break;
      case 5:
        if (!in.Skip(4)) return false;
        break;
      case 2: {
        uint32_t length = 0;
        std::string bytes;
        if (!in.ReadVarint32(&length) || !in.ReadString(&bytes, static_cast<int>(length))) {
          return false;
        }
        on_field(number, bytes);
        break;
      }
      default:
        return false;
    }
  }
}

SparkErrorInfo DecodeErrorInfo(const std::string& details) {
  SparkErrorInfo info;
  // google.rpc.Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  ForEachBytesField(details, [&](uint32_t number, const std::string& any) {
    if (number != 3) return;
    std::string type_url, value;
    // google.protobuf.Any { string type_url = 1; bytes value = 2; }
    ForEachBytesField(any, [&](uint32_t n, const std::string& bytes) {
      if (n == 1) type_url = bytes;
      if (n == 2) value = bytes;
    });
    if (!type_url.ends_with("google.rpc.ErrorInfo")) return;
    // google.rpc.ErrorInfo { string reason = 1; string domain = 2;
    //                        map<string, string> metadata = 3; }
    ForEachBytesField(value, [&](uint32_t n, const std::string& bytes) {
      if (n == 1) info.reason = bytes;
      if (n != 3) return;
      std::string key, val;
      ForEachBytesField(bytes, [&](uint32_t m, const std::string& kv) {
        if (m == 1) key = kv;
        if (m == 2) val = kv;
      });
      if (key == "errorClass") info.error_class = val;
      if (key == "sqlState") info.sql_state = val;
    });
  });
  return info;
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "OK";
  }
}

std::string TypeName(const pb::DataType& type);

std::string IntervalFieldName(int field, bool year_month) {
  static constexpr std::array<std::string_view, 2> kYearMonth = {"year", "month"};
  static constexpr std::array<std::string_view, 4> kDayTime = {"day", "hour", "minute", "second"};
  if (year_month && field >= 0 && field < 2) return std::string(kYearMonth[field]);
  if (!year_month && field >= 0 && field < 4) return std::string(kDayTime[field]);
  return "?";
}

template <typename Interval>
std::string IntervalName(const Interval& interval, bool year_month) {
  const int start = interval.has_start_field() ? interval.start_field() : 0;
  const int end = interval.has_end_field() ? interval.end_field() : (year_month ? 1 : 3);
  std::string out = "interval " + IntervalFieldName(start, year_month);
  if (end != start) out += " to " + IntervalFieldName(end, year_month);
  return out;
}

std::string TypeName(const pb::DataType& type) {
  switch (type.kind_case()) {
    case pb::DataType::kNull:
      return "void";
    case pb::DataType::kBinary:
      return "binary";
    case pb::DataType::kBoolean:
      return "boolean";
    case pb::DataType::kByte:
      return "byte";
    case pb::DataType::kShort:
      return "short";
    case pb::DataType::kInteger:
      return "integer";
    case pb::DataType::kLong:
      return "long";
    case pb::DataType::kFloat:
      return "float";
    case pb::DataType::kDouble:
      return "double";
    case pb::DataType::kDecimal: {
      const auto& d = type.decimal();
      return "decimal(" + std::to_string(d.has_precision() ? d.precision() : 10) + "," +
             std::to_string(d.has_scale() ? d.scale() : 0) + ")";
    }
    case pb::DataType::kString:
      return "string";
    case pb::DataType::kChar:
      return "char(" + std::to_string(type.char_().length()) + ")";
    case pb::DataType::kVarChar:
      return "varchar(" + std::to_string(type.var_char().length()) + ")";
    case pb::DataType::kDate:
      return "date";
    case pb::DataType::kTimestamp:
      return "timestamp";
    case pb::DataType::kTimestampNtz:
      return "timestamp_ntz";
    case pb::DataType::kCalendarInterval:
      return "interval";
    case pb::DataType::kYearMonthInterval:
      return IntervalName(type.year_month_interval(), true);
    case pb::DataType::kDayTimeInterval:
      return IntervalName(type.day_time_interval(), false);
    case pb::DataType::kArray:
      return "array<" + TypeName(type.array().element_type()) + ">";
    case pb::DataType::kStruct: {
      std::string out = "struct<";
      for (int i = 0; i < type.struct_().fields_size(); ++i) {
        const auto& f = type.struct_().fields(i);
        if (i > 0) out += ",";
        out += f.name() + ":" + TypeName(f.data_type());
      }
      return out + ">";
    }
    case pb::DataType::kMap:
      return "map<" + TypeName(type.map().key_type()) + "," + TypeName(type.map().value_type()) +
             ">";
    case pb::DataType::kVariant:
      return "variant";
    case pb::DataType::kUdt:
      return type.udt().has_sql_type() ? TypeName(type.udt().sql_type()) : type.udt().type();
    case pb::DataType::kGeometry:
      return "geometry(" + std::to_string(type.geometry().srid()) + ")";
    case pb::DataType::kGeography:
      return "geography(" + std::to_string(type.geography().srid()) + ")";
    case pb::DataType::kUnparsed:
      return type.unparsed().data_type_string();
    case pb::DataType::kTime:
      return type.time().has_precision() ? "time(" + std::to_string(type.time().precision()) + ")"
                                         : "time";
    case pb::DataType::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

}  // namespace

std::string SparkConnectString::Endpoint() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<SparkConnectString> ParseSparkConnectString(std::string_view remote) {
  const std::string quoted = "Spark Connect string '" + std::string(remote) + "': ";
  constexpr std::string_view kScheme = "sc://";
  if (!remote.starts_with(kScheme)) {
    return Status::InvalidArgument(quoted + "must start with sc:// (sc://host:port/;param=value)");
  }
  std::string_view rest = remote.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (authority.find_first_of(";?#@") != std::string_view::npos) {
    return Status::InvalidArgument(quoted + "the host and port '" + std::string(authority) +
                                   "' hold a character of ;?#@ (parameters follow a '/': "
                                   "sc://host:port/;token=...)");
  }
  SparkConnectString out;
  out.port = kDefaultPort;
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(quoted + "the IPv6 host has no closing ']'");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return Status::InvalidArgument(quoted + "expected ':port' after the IPv6 host, got '" +
                                       std::string(after) + "'");
      }
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) {
    return Status::InvalidArgument(quoted + "the host is missing (sc://host:port)");
  }
  if (has_port) {
    int port = 0;
    bool digits = !port_text.empty() && port_text.size() <= 5;
    for (char c : port_text) {
      if (c < '0' || c > '9') digits = false;
      if (digits) port = port * 10 + (c - '0');
    }
    if (!digits || port < 1 || port > 65535) {
      return Status::InvalidArgument(quoted + "the port '" + std::string(port_text) +
                                     "' is not a number in 1..65535");
    }
    out.port = port;
  }
  if (!tail.empty() && tail[0] != ';') {
    return Status::InvalidArgument(quoted + "the path '/" + std::string(tail) +
                                   "' must be empty (parameters follow as '/;name=value')");
  }
  std::map<std::string, std::string, std::less<>> seen;
  while (!tail.empty()) {
    tail.remove_prefix(1);  // the ';'
    const size_t end = tail.find(';');
    std::string_view param = tail.substr(0, end);
    tail = end == std::string_view::npos ? "" : tail.substr(end);
    if (param.empty()) continue;
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos || param.find('=', eq + 1) != std::string_view::npos) {
      return Status::InvalidArgument(quoted + "the parameter '" + std::string(param) +
                                     "' is not one name=value pair");
    }
    const std::string name(param.substr(0, eq));
    bool known = false;
    for (std::string_view p : kParameters) known = known || p == name;
    if (!known) {
      return Status::InvalidArgument(quoted + "unknown parameter '" + name +
                                     "' (known: " + KnownParameters() + ")");
    }
    if (seen.contains(name)) {
      return Status::InvalidArgument(quoted + "the parameter '" + name + "' is given twice");
    }
    std::optional<std::string> value = PercentDecode(param.substr(eq + 1));
    if (!value) {
      return Status::InvalidArgument(quoted + "the value of '" + name +
                                     "' has a bad percent escape");
    }
    seen[name] = *value;
  }
  for (const auto& [name, value] : seen) {
    if (name == "token") {
      out.token = value;
    } else if (name == "user_id") {
      out.user_id = value;
    } else if (name == "user_agent") {
      out.user_agent = value;
    } else if (name == "use_ssl") {
      if (value != "true" && value != "false") {
        return Status::InvalidArgument(quoted + "use_ssl must be true or false, got '" + value +
                                       "'");
      }
      out.use_ssl = value == "true";
    } else if (name == "session_id") {
      if (!IsUuid(value)) {
        return Status::InvalidArgument(quoted + "session_id '" + value + "' is not a UUID");
      }
      out.session_id = value;
    }
  }
  return out;
}

struct SparkConnectClient::Impl {
  SparkConnectString target;
  std::string endpoint;
  std::string session_id;
  std::string client_type;
  std::string user_id;
  std::chrono::milliseconds query_timeout{};
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::SparkConnectService::Stub> stub;
  std::string spark_version;

  std::mutex mu;
  // The server's id of the session, from its first answer: sent back so
  // that the server refuses calls into a session it has since lost (it
  // restarted), rather than silently starting a new one.
  std::string server_side_session_id;

  template <typename Request>
  void FillCommon(Request& request) {
    request.set_session_id(session_id);
    request.mutable_user_context()->set_user_id(user_id);
    request.set_client_type(client_type);
    std::lock_guard lock(mu);
    if (!server_side_session_id.empty()) {
      request.set_client_observed_server_side_session_id(server_side_session_id);
    }
  }

  void ObserveServerSession(const std::string& id) {
    if (id.empty()) return;
    std::lock_guard lock(mu);
    if (server_side_session_id.empty()) server_side_session_id = id;
  }

  void SetDeadline(grpc::ClientContext& context) const {
    context.set_deadline(std::chrono::system_clock::now() + query_timeout);
  }

  // An analysis error's message without the logical plan that Spark appends
  // after the line holding its SQLSTATE (a tree of `+-` lines, as long as
  // the query): the SQLSTATE line already names the culprit and its place.
  static std::string WithoutPlan(const std::string& message) {
    const size_t state = message.find("SQLSTATE: ");
    if (state == std::string::npos) return message;
    const size_t line_end = message.find('\n', state);
    if (line_end == std::string::npos) return message;
    if (message.find("+- ", line_end) == std::string::npos) return message;
    std::string out = message.substr(0, line_end);
    if (out.ends_with(';')) out.pop_back();
    return out;
  }

  Status ErrorStatus(const grpc::Status& status, std::string_view what) const {
    const std::string prefix = "spark connect " + endpoint + ": " + std::string(what) + ": ";
    const std::string& message = status.error_message();
    switch (status.error_code()) {
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return Status::IOError(prefix + "did not finish within query_timeout " +
                               Millis(query_timeout) + " (gRPC DEADLINE_EXCEEDED)");
      case grpc::StatusCode::UNAVAILABLE:
        return Status::IOError(prefix + "the server is unavailable (gRPC UNAVAILABLE: " + message +
                               ")");
      case grpc::StatusCode::UNAUTHENTICATED:
      case grpc::StatusCode::PERMISSION_DENIED:
        return Status::FailedPrecondition(prefix + "refused (gRPC " +
                                          std::string(GrpcCodeName(status.error_code())) +
                                          "): " + message);
      case grpc::StatusCode::CANCELLED:
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
      case grpc::StatusCode::DATA_LOSS:
      case grpc::StatusCode::ABORTED:
        return Status::IOError(prefix + "gRPC " + std::string(GrpcCodeName(status.error_code())) +
                               ": " + message);
      default:
        break;
    }
    // Spark's own errors: its message, and what its ErrorInfo says.
    const SparkErrorInfo info = DecodeErrorInfo(status.error_details());
    std::string text = prefix + WithoutPlan(message);
    std::string extra;
    if (!info.error_class.empty() && message.find(info.error_class) == std::string::npos) {
      extra = "error class " + info.error_class;
    }
    if (!info.sql_state.empty() && message.find(info.sql_state) == std::string::npos) {
      extra += (extra.empty() ? "" : ", ") + std::string("SQLSTATE ") + info.sql_state;
    }
    if (info.error_class.empty() && !info.reason.empty() &&
        message.find(info.reason) == std::string::npos) {
      extra += (extra.empty() ? "" : ", ") + info.reason;
    }
    if (!extra.empty()) text += " (" + extra + ")";
    if (info.error_class.ends_with("_NOT_FOUND")) return Status::NotFound(text);
    if (info.error_class.ends_with("_ALREADY_EXISTS")) return Status::AlreadyExists(text);
    if (status.error_code() == grpc::StatusCode::INTERNAL && info.error_class.empty() &&
        info.reason.empty()) {
      return Status::IOError(text + " (gRPC INTERNAL)");
    }
    return Status::InvalidArgument(text);
  }

  // Asks the server to stop the operation `operation_id` (after its
  // deadline passed: the stream is gone, but the query may still run).
  void Interrupt(const std::string& operation_id) {
    pb::InterruptRequest request;
    FillCommon(request);
    request.set_interrupt_type(pb::InterruptRequest::INTERRUPT_TYPE_OPERATION_ID);
    request.set_operation_id(operation_id);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kInterruptTimeout);
    pb::InterruptResponse response;
    (void)stub->Interrupt(&context, request, &response);
  }

  // Runs `plan`, calling `on_batch` for each Arrow batch as it arrives.
  Status Execute(pb::Plan plan, std::string_view what, const BatchCallback* on_batch) {
    pb::ExecutePlanRequest request;
    FillCommon(request);
    const std::string operation_id = NewUuid();
    request.set_operation_id(operation_id);
    *request.mutable_plan() = std::move(plan);
    // Not reattachable: the server sends each response once and releases
    // it; a broken stream is an error here, not resumed.
    request.add_request_options()->mutable_reattach_options()->set_reattachable(false);
    grpc::ClientContext context;
    SetDeadline(context);
    std::unique_ptr<grpc::ClientReader<pb::ExecutePlanResponse>> reader =
        stub->ExecutePlan(&context, request);
    pb::ExecutePlanResponse response;
    Status callback_status;
    // An Arrow batch the server split into chunks (only when a client asks
    // for chunking, which this one does not; assembled all the same).
    std::string chunks;
    while (reader->Read(&response)) {
      ObserveServerSession(response.server_side_session_id());
      if (response.response_type_case() != pb::ExecutePlanResponse::kArrowBatch ||
          on_batch == nullptr) {
        continue;  // schema, metrics, progress, command results, ResultComplete
      }
      const pb::ExecutePlanResponse::ArrowBatch& batch = response.arrow_batch();
      std::string_view bytes = batch.data();
      if (batch.has_num_chunks_in_batch() && batch.num_chunks_in_batch() > 1) {
        chunks += batch.data();
        if (batch.chunk_index() + 1 < batch.num_chunks_in_batch()) continue;
        bytes = chunks;
      }
      callback_status = (*on_batch)(bytes, batch.row_count());
      chunks.clear();
      if (!callback_status.ok()) {
        context.TryCancel();
        break;
      }
    }
    if (!callback_status.ok()) {
      (void)reader->Finish();
      Interrupt(operation_id);
      return callback_status;
    }
    const grpc::Status status = reader->Finish();
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) Interrupt(operation_id);
    if (!status.ok()) return ErrorStatus(status, what);
    return Status::OK();
  }

  Status Config(pb::ConfigRequest::Operation operation, pb::ConfigResponse* response,
                std::string_view what) {
    pb::ConfigRequest request;
    FillCommon(request);
    *request.mutable_operation() = std::move(operation);
    grpc::ClientContext context;
    SetDeadline(context);
    const grpc::Status status = stub->Config(&context, request, response);
    if (!status.ok()) return ErrorStatus(status, what);
    ObserveServerSession(response->server_side_session_id());
    return Status::OK();
  }

  Result<pb::AnalyzePlanResponse> Analyze(pb::AnalyzePlanRequest request, std::string_view what) {
    FillCommon(request);
    grpc::ClientContext context;
    SetDeadline(context);
    pb::AnalyzePlanResponse response;
    const grpc::Status status = stub->AnalyzePlan(&context, request, &response);
    if (!status.ok()) return ErrorStatus(status, what);
    ObserveServerSession(response.server_side_session_id());
    return response;
  }
};

SparkConnectClient::SparkConnectClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SparkConnectClient::~SparkConnectClient() = default;

Result<std::unique_ptr<SparkConnectClient>> SparkConnectClient::Connect(
    const SparkConnectOptions& options) {
  LARDER_ASSIGN_OR_RETURN(SparkConnectString target, ParseSparkConnectString(options.remote));
  if (options.connect_timeout.count() <= 0 || options.query_timeout.count() <= 0) {
    return Status::InvalidArgument(
        "spark connect: connect_timeout and query_timeout must be "
        "positive");
  }
  auto impl = std::make_unique<Impl>();
  impl->target = target;
  impl->endpoint = target.Endpoint();
  impl->session_id = target.session_id.empty() ? NewUuid() : target.session_id;
  impl->client_type = target.user_agent.empty() ? "larder" : target.user_agent;
  impl->user_id = target.user_id;
  if (impl->user_id.empty()) {
    const char* user = std::getenv("USER");
    impl->user_id = user != nullptr && *user != '\0' ? user : "larder";
  }
  impl->query_timeout = options.query_timeout;

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!target.use_ssl && target.token.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else if (!target.use_ssl && target.host == "localhost") {
    credentials = grpc::experimental::LocalCredentials(LOCAL_TCP);
  } else {
    credentials = grpc::SslCredentials(grpc::SslCredentialsOptions());
  }
  if (!target.token.empty()) {
    credentials =
        grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(target.token));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  // A channel of its own, not shared with other clients of the same target.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  impl->channel = grpc::CreateCustomChannel(impl->endpoint, credentials, args);
  if (!impl->channel->WaitForConnected(std::chrono::system_clock::now() +
                                       options.connect_timeout)) {
    return Status::IOError("spark connect " + impl->endpoint +
                           ": no connection within "
                           "connect_timeout " +
                           Millis(options.connect_timeout) +
                           " (is a Spark Connect server running there? scripts/spark.sh server)");
  }
  impl->stub = pb::SparkConnectService::NewStub(impl->channel);

  // The first call starts the session and shows that a Spark Connect
  // server answers.
  pb::AnalyzePlanRequest version;
  version.mutable_spark_version();
  LARDER_ASSIGN_OR_RETURN(pb::AnalyzePlanResponse response,
                          impl->Analyze(std::move(version), "reading the Spark version"));
  impl->spark_version = response.spark_version().version();
  auto client = std::unique_ptr<SparkConnectClient>(new SparkConnectClient(std::move(impl)));
  if (!options.conf.empty()) {
    LARDER_RETURN_IF_ERROR(client->SetConf(options.conf));
  }
  return client;
}

Status SparkConnectClient::ExecuteSql(std::string_view sql, const BatchCallback& on_batch) {
  pb::Plan plan;
  plan.mutable_root()->mutable_sql()->set_query(std::string(sql));
  return impl_->Execute(std::move(plan), "query", &on_batch);
}

Status SparkConnectClient::ExecuteCommand(std::string_view sql) {
  pb::Plan plan;
  plan.mutable_command()->mutable_sql_command()->mutable_input()->mutable_sql()->set_query(
      std::string(sql));
  return impl_->Execute(std::move(plan), "command", nullptr);
}

Result<SparkColumns> SparkConnectClient::Schema(std::string_view sql) {
  pb::AnalyzePlanRequest request;
  request.mutable_schema()->mutable_plan()->mutable_root()->mutable_sql()->set_query(
      std::string(sql));
  LARDER_ASSIGN_OR_RETURN(pb::AnalyzePlanResponse response,
                          impl_->Analyze(std::move(request), "schema"));
  const pb::DataType& type = response.schema().schema();
  SparkColumns columns;
  if (type.kind_case() != pb::DataType::kStruct) {
    columns.emplace_back("value", TypeName(type));
    return columns;
  }
  for (const auto& field : type.struct_().fields()) {
    columns.emplace_back(field.name(), TypeName(field.data_type()));
  }
  return columns;
}

Status SparkConnectClient::SetConf(const std::map<std::string, std::string>& conf) {
  pb::ConfigRequest::Operation operation;
  for (const auto& [key, value] : conf) {
    pb::KeyValue* pair = operation.mutable_set()->add_pairs();
    pair->set_key(key);
    pair->set_value(value);
  }
  pb::ConfigResponse response;
  return impl_->Config(std::move(operation), &response, "setting the session's configuration");
}

Result<std::string> SparkConnectClient::GetConf(const std::string& key) {
  pb::ConfigRequest::Operation operation;
  operation.mutable_get_option()->add_keys(key);
  pb::ConfigResponse response;
  LARDER_RETURN_IF_ERROR(
      impl_->Config(std::move(operation), &response, "reading the configuration " + key));
  for (const pb::KeyValue& pair : response.pairs()) {
    if (pair.key() == key && pair.has_value()) return pair.value();
  }
  return Status::NotFound("spark connect " + impl_->endpoint + ": the configuration " + key +
                          " is not set");
}

const std::string& SparkConnectClient::spark_version() const { return impl_->spark_version; }
const std::string& SparkConnectClient::session_id() const { return impl_->session_id; }
const std::string& SparkConnectClient::endpoint() const { return impl_->endpoint; }

}  // namespace larder::offline::spark
