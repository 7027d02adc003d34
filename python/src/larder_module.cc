// larder._larder: the Python SDK's extension module, a thin binding of
// larder::FeatureStore. The Feast-shaped API lives in python/larder/__init__.py;
// this file only converts arguments and results and maps a Status to a Python
// exception. No engine logic belongs here (docs/python-sdk.md).
//
// Conversions:
//   - Python scalars and lists (entity rows, pushed columns) to larder::Value
//     by their Python type; FeatureStore then coerces them to the declared
//     dtypes (src/common/value_coercion).
//   - larder::Value to Python scalars; timestamps to aware datetimes in UTC.
//   - Training data leaves as an Arrow C stream in a PyCapsule named
//     "arrow_array_stream" (the Arrow PyCapsule interface); an entity table
//     comes in the same way.
//
// Errors: a non-OK Status is thrown as StatusError and translated into the
// larder.errors class of its code. Wrong Python types are TypeErrors naming
// the argument.
//
// Threads: every call into the library releases the GIL; each Store holds a
// mutex, since a FeatureStore is not thread-safe.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "larder/feature_store.h"
#include "larder/version.h"

namespace nb = nanobind;

namespace larder::python {
namespace {

// A non-OK Status on its way to Python.
class StatusError : public std::runtime_error {
 public:
  explicit StatusError(const Status& status)
      : std::runtime_error(status.message()), code_(status.code()) {}
  StatusCode code() const { return code_; }

 private:
  StatusCode code_;
};

const char* ErrorClassName(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument: return "InvalidArgumentError";
    case StatusCode::kNotFound: return "NotFoundError";
    case StatusCode::kAlreadyExists: return "AlreadyExistsError";
    case StatusCode::kFailedPrecondition: return "FailedPreconditionError";
    case StatusCode::kBusy: return "BusyError";
    case StatusCode::kIOError: return "LarderIOError";
    case StatusCode::kCorruption: return "CorruptionError";
    case StatusCode::kInternal: return "InternalError";
    default: return "LarderError";
  }
}

void ThrowIfError(const Status& status) {
  if (!status.ok()) throw StatusError(status);
}

template <typename T>
T ValueOrThrow(Result<T>&& result) {
  if (!result.ok()) throw StatusError(result.status());
  return std::move(result).value();
}

[[noreturn]] void ThrowTypeError(const std::string& message) { throw nb::type_error(message.c_str()); }

std::string TypeName(nb::handle obj) {
  return nb::cast<std::string>(nb::handle(reinterpret_cast<PyObject*>(Py_TYPE(obj.ptr()))).attr("__name__"));
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Cached Python objects of the datetime module.
struct DateTimeModule {
  nb::object datetime_type;
  nb::object utc_epoch;
  nb::object timedelta_type;

  static DateTimeModule& Get() {
    static DateTimeModule* m = [] {
      auto* mod = new DateTimeModule();
      nb::module_ dt = nb::module_::import_("datetime");
      mod->datetime_type = dt.attr("datetime");
      nb::object utc = dt.attr("timezone").attr("utc");
      mod->utc_epoch = mod->datetime_type(1970, 1, 1, 0, 0, 0, 0, utc);
      mod->timedelta_type = dt.attr("timedelta");
      return mod;
    }();
    return *m;
  }
};

bool IsDateTime(nb::handle obj) {
  return PyObject_IsInstance(obj.ptr(), DateTimeModule::Get().datetime_type.ptr()) == 1;
}

// A datetime (naive: UTC; aware: converted) as microseconds since the epoch.
TimestampMicros DateTimeMicros(nb::handle dt) {
  auto get = [&](const char* name) { return nb::cast<int64_t>(dt.attr(name)); };
  int64_t days = DaysFromCivil(get("year"), get("month"), get("day"));
  int64_t micros = ((days * 24 + get("hour")) * 60 + get("minute")) * 60 + get("second");
  micros = micros * 1'000'000 + get("microsecond");
  nb::object offset = dt.attr("utcoffset")();
  if (!offset.is_none()) {
    int64_t off = (nb::cast<int64_t>(offset.attr("days")) * 86400 +
                   nb::cast<int64_t>(offset.attr("seconds"))) *
                      1'000'000 +
                  nb::cast<int64_t>(offset.attr("microseconds"));
    micros -= off;
  }
  return micros;
}

nb::object MicrosToDateTime(TimestampMicros micros) {
  DateTimeModule& m = DateTimeModule::Get();
  return m.utc_epoch + m.timedelta_type(0, 0, micros);
}

enum class Kind { kNull, kBool, kInt, kFloat, kString, kBytes, kTimestamp, kOther };

Kind KindOf(nb::handle obj) {
  PyObject* p = obj.ptr();
  if (obj.is_none()) return Kind::kNull;
  if (PyBool_Check(p)) return Kind::kBool;
  if (PyLong_Check(p)) return Kind::kInt;
  if (PyFloat_Check(p)) return Kind::kFloat;
  if (PyUnicode_Check(p)) return Kind::kString;
  if (PyBytes_Check(p)) return Kind::kBytes;
  if (IsDateTime(obj)) return Kind::kTimestamp;
  // numpy scalars: np.bool_, np.integer (has __index__), np.floating.
  std::string name = TypeName(obj);
  if (name == "bool_" || name == "bool") return Kind::kBool;
  if (PyIndex_Check(p)) return Kind::kInt;
  if (name.starts_with("float")) return Kind::kFloat;
  return Kind::kOther;
}

// One Python value (scalar or list) as a Value. `where` names it for errors
// ("entity_rows: column `user_id` row 3").
Value ToValue(nb::handle obj, const std::string& where) {
  switch (KindOf(obj)) {
    case Kind::kNull: return Value::Null();
    case Kind::kBool: return Value::Bool(PyObject_IsTrue(obj.ptr()) == 1);
    case Kind::kInt: {
      nb::object index = nb::steal(PyNumber_Index(obj.ptr()));
      if (!index.is_valid()) throw nb::python_error();
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
      if (overflow != 0) throw nb::value_error((where + ": integer out of the 64-bit range").c_str());
      return Value::Int64(static_cast<int64_t>(v));
    }
    case Kind::kFloat: {
      double v = PyFloat_AsDouble(obj.ptr());
      if (v == -1.0 && PyErr_Occurred()) throw nb::python_error();
      return std::isnan(v) ? Value::Null() : Value::Float64(v);
    }
    case Kind::kString: return Value::String(nb::cast<std::string>(obj));
    case Kind::kBytes:
      return Value::Bytes(std::string(PyBytes_AsString(obj.ptr()),
                                      static_cast<size_t>(PyBytes_Size(obj.ptr()))));
    case Kind::kTimestamp: return Value::UnixTimestamp(DateTimeMicros(obj));
    case Kind::kOther: break;
  }
  if (!PyList_Check(obj.ptr()) && !PyTuple_Check(obj.ptr()) && !nb::hasattr(obj, "tolist")) {
    ThrowTypeError(where + ": unsupported value type '" + TypeName(obj) +
                   "' (expected None, bool, int, float, str, bytes, datetime or a list of them)");
  }
  // A list (or a numpy array): every element of one kind; ints widen to float.
  nb::object seq = nb::hasattr(obj, "tolist") ? obj.attr("tolist")() : nb::borrow(obj);
  std::vector<nb::handle> items;
  for (nb::handle item : seq) items.push_back(item);
  Kind kind = Kind::kNull;
  for (size_t i = 0; i < items.size(); ++i) {
    Kind k = KindOf(items[i]);
    std::string item_where = where + "[" + std::to_string(i) + "]";
    if (k == Kind::kNull) {
      throw nb::value_error((item_where + ": arrays may not hold None").c_str());
    }
    if (k == Kind::kOther) {
      ThrowTypeError(item_where + ": unsupported array element type '" + TypeName(items[i]) + "'");
    }
    if (kind == Kind::kNull || kind == k) {
      kind = k;
    } else if ((kind == Kind::kInt && k == Kind::kFloat) || (kind == Kind::kFloat && k == Kind::kInt)) {
      kind = Kind::kFloat;
    } else {
      ThrowTypeError(item_where + ": array elements of different types");
    }
  }
  switch (kind) {
    case Kind::kNull:  // empty: fits every array dtype
    case Kind::kInt: {
      std::vector<int64_t> v;
      for (size_t i = 0; i < items.size(); ++i) {
        v.push_back(ToValue(items[i], where + "[" + std::to_string(i) + "]").int64_value());
      }
      return Value::Int64Array(std::move(v));
    }
    case Kind::kFloat: {
      std::vector<double> v;
      for (nb::handle item : items) v.push_back(PyFloat_AsDouble(item.ptr()));
      return Value::Float64Array(std::move(v));
    }
    case Kind::kBool: {
      std::vector<bool> v;
      for (nb::handle item : items) v.push_back(PyObject_IsTrue(item.ptr()) == 1);
      return Value::BoolArray(std::move(v));
    }
    case Kind::kString: {
      std::vector<std::string> v;
      for (nb::handle item : items) v.push_back(nb::cast<std::string>(item));
      return Value::StringArray(std::move(v));
    }
    case Kind::kBytes: {
      std::vector<std::string> v;
      for (nb::handle item : items) {
        v.emplace_back(PyBytes_AsString(item.ptr()), static_cast<size_t>(PyBytes_Size(item.ptr())));
      }
      return Value::BytesArray(std::move(v));
    }
    case Kind::kTimestamp: {
      std::vector<TimestampMicros> v;
      for (nb::handle item : items) v.push_back(DateTimeMicros(item));
      return Value::UnixTimestampArray(std::move(v));
    }
    case Kind::kOther: break;
  }
  ThrowTypeError(where + ": unsupported array");
}

nb::object FromValue(const Value& value) {
  if (value.is_null()) return nb::none();
  const ValueType type = value.type();
  if (!type.is_array) {
    switch (type.scalar) {
      case ScalarType::kInt32: return nb::int_(value.int32_value());
      case ScalarType::kInt64: return nb::int_(value.int64_value());
      case ScalarType::kFloat32: return nb::float_(static_cast<double>(value.float32_value()));
      case ScalarType::kFloat64: return nb::float_(value.float64_value());
      case ScalarType::kString: return nb::str(value.string_value().data(), value.string_value().size());
      case ScalarType::kBytes:
        return nb::bytes(value.string_value().data(), value.string_value().size());
      case ScalarType::kBool: return nb::bool_(value.bool_value());
      case ScalarType::kUnixTimestamp: return MicrosToDateTime(value.timestamp_value());
    }
  }
  nb::list out;
  switch (type.scalar) {
    case ScalarType::kInt32:
      for (int32_t v : value.int32_array()) out.append(nb::int_(v));
      break;
    case ScalarType::kInt64:
      for (int64_t v : value.int64_array()) out.append(nb::int_(v));
      break;
    case ScalarType::kFloat32:
      for (float v : value.float32_array()) out.append(nb::float_(static_cast<double>(v)));
      break;
    case ScalarType::kFloat64:
      for (double v : value.float64_array()) out.append(nb::float_(v));
      break;
    case ScalarType::kString:
      for (const auto& v : value.string_array()) out.append(nb::str(v.data(), v.size()));
      break;
    case ScalarType::kBytes:
      for (const auto& v : value.string_array()) out.append(nb::bytes(v.data(), v.size()));
      break;
    case ScalarType::kBool:
      for (bool v : value.bool_array()) out.append(nb::bool_(v));
      break;
    case ScalarType::kUnixTimestamp:
      for (int64_t v : value.int64_array()) out.append(MicrosToDateTime(v));
      break;
  }
  return out;
}

// {column: [values]} as a ColumnTable. `arg` names the argument for errors.
ColumnTable ToColumnTable(nb::handle columns, const std::string& arg) {
  if (!PyDict_Check(columns.ptr())) {
    ThrowTypeError(arg + " must be a dict of column name to list of values, not " +
                   TypeName(columns));
  }
  ColumnTable table;
  for (auto [key, values] : nb::borrow<nb::dict>(columns)) {
    if (!PyUnicode_Check(key.ptr())) ThrowTypeError(arg + ": column names must be str");
    std::string name = nb::cast<std::string>(key);
    if (!PyList_Check(values.ptr())) {
      ThrowTypeError(arg + ": column `" + name + "` must be a list, not " + TypeName(values));
    }
    std::vector<Value>& out = table[name];
    size_t row = 0;
    for (nb::handle v : values) {
      out.push_back(ToValue(v, arg + ": column `" + name + "` row " + std::to_string(row)));
      ++row;
    }
  }
  return table;
}

// Pushed rows: an "arrow_array_stream" PyCapsule (a DataFrame or Table),
// read by the engine; or a dict of column lists, converted here.
ColumnTable ColumnsArg(nb::handle columns) {
  if (PyCapsule_IsValid(columns.ptr(), "arrow_array_stream")) {
    auto* stream =
        static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(columns.ptr(), "arrow_array_stream"));
    Result<ColumnTable> table = Status::Internal("not run");
    {
      nb::gil_scoped_release release;
      table = ReadArrowColumnTable(stream);
    }
    return ValueOrThrow(std::move(table));
  }
  return ToColumnTable(columns, "df");
}

nb::dict PushReportDict(const PushReport& report) {
  nb::dict d;
  d["rows"] = report.rows;
  d["offline_rows"] = report.offline_rows;
  nb::list online;
  for (const auto& w : report.online) {
    nb::dict v;
    v["view"] = w.view;
    v["written"] = w.written;
    v["skipped"] = w.skipped;
    online.append(v);
  }
  d["online"] = online;
  return d;
}

nb::list ChangesList(const RegistryPlan& plan) {
  const char* types[] = {"create", "update", "delete"};
  nb::list out;
  for (const auto& c : plan.changes) {
    nb::dict d;
    d["type"] = types[static_cast<int>(c.type)];
    d["kind"] = std::string(ObjectKindName(c.kind));
    d["name"] = c.name;
    d["description"] = c.Describe();
    out.append(d);
  }
  return out;
}

nb::list MaterializeList(const MaterializeReport& report) {
  nb::list out;
  for (const auto& v : report.views) {
    nb::dict d;
    d["view"] = v.view;
    d["start"] = MicrosToDateTime(v.start);
    d["end"] = MicrosToDateTime(v.end);
    d["rows"] = v.rows;
    d["written"] = v.written;
    d["skipped"] = v.skipped;
    d["seconds"] = v.seconds;
    out.append(d);
  }
  return out;
}

nb::dict FieldDict(const Field& f) {
  nb::dict d;
  d["name"] = f.name;
  d["dtype"] = ValueTypeName(f.dtype);
  d["description"] = f.description;
  return d;
}

nb::dict TagsDict(const Tags& tags) {
  nb::dict d;
  for (const auto& [k, v] : tags) d[nb::str(k.c_str())] = v;
  return d;
}

nb::dict RepoDict(const FeatureRepo& repo) {
  nb::list entities, views, services;
  for (const auto& e : repo.entities) {
    nb::dict d;
    d["name"] = e.name;
    d["join_keys"] = e.join_keys;
    d["value_type"] = ValueTypeName(e.value_type);
    d["description"] = e.description;
    d["tags"] = TagsDict(e.tags);
    d["owner"] = e.owner;
    entities.append(d);
  }
  for (const auto& v : repo.feature_views) {
    nb::dict d;
    d["name"] = v.name;
    d["entities"] = v.entities;
    d["ttl_seconds"] = static_cast<double>(v.ttl.micros) / 1e6;
    nb::list schema, entity_columns, aggregations;
    for (const auto& f : v.schema) schema.append(FieldDict(f));
    for (const auto& f : v.entity_columns) entity_columns.append(FieldDict(f));
    // An aggregation's output, as a field of the view: its name and dtype.
    for (const auto& a : v.aggregations) {
      Field output;
      output.name = a.name;
      output.dtype = AggregationOutputType(a);
      output.description = a.description;
      aggregations.append(FieldDict(output));
    }
    d["schema"] = schema;
    d["entity_columns"] = entity_columns;
    d["aggregations"] = aggregations;
    d["source"] = v.source;
    d["online"] = v.online;
    d["description"] = v.description;
    d["tags"] = TagsDict(v.tags);
    d["owner"] = v.owner;
    views.append(d);
  }
  for (const auto& s : repo.feature_services) {
    nb::dict d;
    d["name"] = s.name;
    nb::list items;
    for (const auto& item : s.features) {
      nb::dict i;
      i["feature_view"] = item.feature_view;
      i["features"] = item.features;
      items.append(i);
    }
    d["features"] = items;
    d["description"] = s.description;
    d["tags"] = TagsDict(s.tags);
    d["owner"] = s.owner;
    services.append(d);
  }
  nb::dict out;
  out["entities"] = entities;
  out["feature_views"] = views;
  out["feature_services"] = services;
  return out;
}

void ReleaseStreamCapsule(void* p) noexcept {
  auto* stream = static_cast<ArrowArrayStream*>(p);
  if (stream->release != nullptr) stream->release(stream);
  delete stream;
}

class Job {
 public:
  explicit Job(std::unique_ptr<HistoricalRetrievalJob> job) : job_(std::move(job)) {}

  std::vector<std::string> column_names() const { return job_->column_names(); }
  std::string sql() const { return job_->sql(); }

  // The result as an "arrow_array_stream" PyCapsule; batches are computed as
  // the consumer pulls them.
  nb::capsule ArrowStream() {
    auto stream = std::make_unique<ArrowArrayStream>();
    stream->release = nullptr;
    Status st;
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      st = job_->ExportArrowStream(stream.get());
    }
    ThrowIfError(st);
    return nb::capsule(stream.release(), "arrow_array_stream", ReleaseStreamCapsule);
  }

  int64_t WriteToFile(const std::string& path) {
    Result<int64_t> rows = Status::Internal("not run");
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      rows = job_->WriteToFile(path);
    }
    return ValueOrThrow(std::move(rows));
  }

 private:
  std::mutex mu_;
  std::unique_ptr<HistoricalRetrievalJob> job_;
};

class Store {
 public:
  explicit Store(const std::string& repo_path) {
    FeatureStoreOptions options;
    options.repo_dir = repo_path;
    Result<std::unique_ptr<FeatureStore>> opened = Status::Internal("not run");
    {
      nb::gil_scoped_release release;
      opened = FeatureStore::Open(options);
    }
    store_ = ValueOrThrow(std::move(opened));
  }

  std::string repo_root() const { return Open().repo_root(); }
  std::string project() const { return Open().config().project; }

  // Runs `fn` on the store without the GIL, one call at a time.
  template <typename Fn>
  auto Call(Fn&& fn) {
    if (store_ == nullptr) {
      throw StatusError(Status::FailedPrecondition("this FeatureStore is closed"));
    }
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    return fn(*store_);
  }

  // Closes the registry and the online store (releasing RocksDB's lock, so
  // that another process may open it). Later calls fail. Idempotent.
  void Close() {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    store_.reset();
  }

  nb::dict Apply() {
    ApplyResult r = ValueOrThrow(Call([](FeatureStore& s) { return s.Apply(); }));
    nb::dict d;
    d["version"] = r.version;
    d["changes"] = ChangesList(r.plan);
    return d;
  }

  nb::list Plan() { return ChangesList(ValueOrThrow(Call([](FeatureStore& s) { return s.Plan(); }))); }

  nb::dict Registered() {
    return RepoDict(ValueOrThrow(Call([](FeatureStore& s) { return s.Registered(); })));
  }

  nb::list GetOnlineFeatures(const std::vector<std::string>& features,
                             const std::string& feature_service, nb::handle entity_rows,
                             bool full_feature_names) {
    OnlineFeaturesRequest request;
    request.features = features;
    request.feature_service = feature_service;
    request.entity_rows = ToColumnTable(entity_rows, "entity_rows");
    request.full_feature_names = full_feature_names;
    OnlineFeaturesResponse response = ValueOrThrow(
        Call([&request](FeatureStore& s) { return s.GetOnlineFeatures(request); }));
    nb::list out;
    for (const auto& col : response.columns) {
      nb::list values, statuses, timestamps;
      for (const auto& v : col.values) values.append(FromValue(v));
      for (FeatureStatus st : col.statuses) statuses.append(nb::str(FeatureStatusName(st)));
      for (TimestampMicros ts : col.event_timestamps) timestamps.append(MicrosToDateTime(ts));
      out.append(nb::make_tuple(col.name, values, statuses, timestamps));
    }
    return out;
  }

  nb::list Materialize(int64_t start, int64_t end, const std::vector<std::string>& views) {
    MaterializeOptions options;
    options.views = views;
    return MaterializeList(ValueOrThrow(Call([&](FeatureStore& s) {
      return s.Materialize(start, end, options);
    })));
  }

  nb::list MaterializeIncremental(int64_t end, const std::vector<std::string>& views) {
    MaterializeOptions options;
    options.views = views;
    return MaterializeList(ValueOrThrow(Call([&](FeatureStore& s) {
      return s.MaterializeIncremental(end, options);
    })));
  }

  Job* GetHistoricalFeatures(const std::string& entity_sql, nb::handle entity_stream,
                             const std::vector<std::string>& features,
                             const std::string& feature_service, bool full_feature_names) {
    HistoricalFeaturesRequest request;
    request.entity_sql = entity_sql;
    if (!entity_stream.is_none()) {
      if (!PyCapsule_IsValid(entity_stream.ptr(), "arrow_array_stream")) {
        ThrowTypeError("entity_df: expected an 'arrow_array_stream' PyCapsule");
      }
      request.entity_arrow_stream = static_cast<ArrowArrayStream*>(
          PyCapsule_GetPointer(entity_stream.ptr(), "arrow_array_stream"));
    }
    request.features = features;
    request.feature_service = feature_service;
    request.full_feature_names = full_feature_names;
    // The capsule (and so the stream) stays alive for the call: the caller
    // holds it; its own destructor releases the consumed stream.
    std::unique_ptr<HistoricalRetrievalJob> job = ValueOrThrow(
        Call([&request](FeatureStore& s) { return s.GetHistoricalFeatures(request); }));
    return new Job(std::move(job));
  }

  nb::dict Push(const std::string& source, nb::handle columns, const std::string& to) {
    PushTarget target = ValueOrThrow(ParsePushTarget(to));
    ColumnTable table = ColumnsArg(columns);
    return PushReportDict(ValueOrThrow(
        Call([&](FeatureStore& s) { return s.Push(source, table, target); })));
  }

  nb::dict WriteToOnlineStore(const std::string& view, nb::handle columns) {
    ColumnTable table = ColumnsArg(columns);
    return PushReportDict(ValueOrThrow(
        Call([&](FeatureStore& s) { return s.WriteToOnlineStore(view, table); })));
  }

  nb::dict DeleteFromOnlineStore(nb::handle entity_rows, const std::vector<std::string>& views) {
    EntityColumns entities = ToColumnTable(entity_rows, "entity_rows");
    OnlineDeleteReport report = ValueOrThrow(
        Call([&](FeatureStore& s) { return s.DeleteOnline(entities, views); }));
    nb::dict d;
    d["entities"] = report.entities;
    nb::list names;
    for (const auto& name : report.feature_views) names.append(nb::str(name.c_str()));
    d["feature_views"] = names;
    return d;
  }

 private:
  const FeatureStore& Open() const {
    if (store_ == nullptr) {
      throw StatusError(Status::FailedPrecondition("this FeatureStore is closed"));
    }
    return *store_;
  }

  std::mutex mu_;
  std::unique_ptr<FeatureStore> store_;
};

}  // namespace
}  // namespace larder::python

NB_MODULE(_larder, m) {
  using namespace larder::python;
  m.doc() = "Larder's C++ engine (liblarder); use the `larder` package, not this module.";
  m.attr("__version__") = std::string(larder::kVersion);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const StatusError& e) {
      nb::object cls = nb::module_::import_("larder.errors").attr(ErrorClassName(e.code()));
      PyErr_SetString(cls.ptr(), e.what());
    }
  });

  nb::class_<Job>(m, "HistoricalJob")
      .def_prop_ro("column_names", &Job::column_names)
      .def_prop_ro("sql", &Job::sql)
      .def("arrow_stream", &Job::ArrowStream)
      .def("write_to_file", &Job::WriteToFile, nb::arg("path"));

  nb::class_<Store>(m, "Store")
      .def(nb::init<const std::string&>(), nb::arg("repo_path"))
      .def_prop_ro("repo_root", &Store::repo_root)
      .def_prop_ro("project", &Store::project)
      .def("close", &Store::Close)
      .def("apply", &Store::Apply)
      .def("plan", &Store::Plan)
      .def("registered", &Store::Registered)
      .def("get_online_features", &Store::GetOnlineFeatures, nb::arg("features"),
           nb::arg("feature_service"), nb::arg("entity_rows"), nb::arg("full_feature_names"))
      .def("materialize", &Store::Materialize, nb::arg("start_micros"), nb::arg("end_micros"),
           nb::arg("views"))
      .def("materialize_incremental", &Store::MaterializeIncremental, nb::arg("end_micros"),
           nb::arg("views"))
      .def("get_historical_features", &Store::GetHistoricalFeatures, nb::arg("entity_sql"),
           nb::arg("entity_stream").none(), nb::arg("features"), nb::arg("feature_service"),
           nb::arg("full_feature_names"), nb::rv_policy::take_ownership)
      .def("push", &Store::Push, nb::arg("push_source_name"), nb::arg("columns"), nb::arg("to"))
      .def("write_to_online_store", &Store::WriteToOnlineStore, nb::arg("feature_view_name"),
           nb::arg("columns"))
      .def("delete_from_online_store", &Store::DeleteFromOnlineStore, nb::arg("entity_rows"),
           nb::arg("views"));
}
