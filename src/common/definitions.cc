#include "larder/definitions.h"

#include <string>
#include <vector>

namespace larder {

std::string_view DataSourceKindName(DataSourceKind kind) {
  switch (kind) {
    case DataSourceKind::kFile: return "file";
    case DataSourceKind::kPush: return "push";
    case DataSourceKind::kModel: return "model";
    case DataSourceKind::kQuery: return "query";
    case DataSourceKind::kKinesis: return "kinesis";
    case DataSourceKind::kKafka: return "kafka";
    case DataSourceKind::kDbt: return "dbt";
    case DataSourceKind::kSpark: return "spark";
  }
  return "file";
}

bool ReceivesRows(DataSourceKind kind) {
  return kind == DataSourceKind::kPush || kind == DataSourceKind::kKinesis ||
         kind == DataSourceKind::kKafka;
}

bool IsStreamSource(DataSourceKind kind) {
  return kind == DataSourceKind::kKinesis || kind == DataSourceKind::kKafka;
}

std::string_view FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kParquet: return "parquet";
    case FileFormat::kCsv: return "csv";
    case FileFormat::kOrc: return "orc";
    case FileFormat::kJson: return "json";
    case FileFormat::kDelta: return "delta";
  }
  return "parquet";
}

std::string_view DataTestKindName(DataTestKind kind) {
  switch (kind) {
    case DataTestKind::kNotNull: return "not_null";
    case DataTestKind::kUnique: return "unique";
    case DataTestKind::kAcceptedValues: return "accepted_values";
    case DataTestKind::kAcceptedRange: return "accepted_range";
    case DataTestKind::kRelationships: return "relationships";
    case DataTestKind::kFreshness: return "freshness";
  }
  return "not_null";
}

std::string_view ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEntity: return "entity";
    case ObjectKind::kDataSource: return "data source";
    case ObjectKind::kSqlModel: return "sql model";
    case ObjectKind::kFeatureView: return "feature view";
    case ObjectKind::kFeatureService: return "feature service";
  }
  return "object";
}

}  // namespace larder

namespace larder {
namespace {

struct FunctionName {
  AggregationFunction function;
  std::string_view name;
};

constexpr FunctionName kFunctionNames[] = {
    {AggregationFunction::kCount, "count"},
    {AggregationFunction::kSum, "sum"},
    {AggregationFunction::kMean, "mean"},
    {AggregationFunction::kMin, "min"},
    {AggregationFunction::kMax, "max"},
    {AggregationFunction::kStddev, "stddev"},
    {AggregationFunction::kVariance, "variance"},
    {AggregationFunction::kFirst, "first"},
    {AggregationFunction::kLast, "last"},
    {AggregationFunction::kFirstN, "first_n"},
    {AggregationFunction::kLastN, "last_n"},
    {AggregationFunction::kCountDistinct, "count_distinct"},
    {AggregationFunction::kApproxCountDistinct, "approx_count_distinct"},
};

bool TakesN(AggregationFunction f) {
  return f == AggregationFunction::kFirstN || f == AggregationFunction::kLastN;
}

bool IsNumeric(ScalarType t) {
  return t == ScalarType::kInt32 || t == ScalarType::kInt64 || t == ScalarType::kFloat32 ||
         t == ScalarType::kFloat64;
}

}  // namespace

std::string_view AggregationFunctionName(AggregationFunction function) {
  for (const FunctionName& f : kFunctionNames) {
    if (f.function == function) return f.name;
  }
  return "count";
}

Status ParseAggregationFunction(std::string_view text, AggregationFunction* function,
                                int64_t* n) {
  std::string_view name = text;
  int64_t count = 0;
  const size_t open = text.find('(');
  if (open != std::string_view::npos) {
    name = text.substr(0, open);
    std::string_view arg = text.substr(open + 1);
    if (arg.empty() || arg.back() != ')') {
      return Status::InvalidArgument("function '" + std::string(text) +
                                     "': expected NAME(N), e.g. last_n(5)");
    }
    arg.remove_suffix(1);
    if (arg.empty() || arg.size() > 6 ||
        arg.find_first_not_of("0123456789") != std::string_view::npos) {
      return Status::InvalidArgument("function '" + std::string(text) +
                                     "': N must be a whole number from 1 to 100000");
    }
    count = std::stoll(std::string(arg));
    if (count < 1 || count > 100000) {
      return Status::InvalidArgument("function '" + std::string(text) +
                                     "': N must be a whole number from 1 to 100000");
    }
  }
  for (const FunctionName& f : kFunctionNames) {
    if (f.name != name) continue;
    if (TakesN(f.function) && open == std::string_view::npos) {
      return Status::InvalidArgument("function '" + std::string(text) + "' needs a count: " +
                                     std::string(name) + "(N), e.g. " + std::string(name) +
                                     "(5)");
    }
    if (!TakesN(f.function) && open != std::string_view::npos) {
      return Status::InvalidArgument("function '" + std::string(name) + "' takes no count");
    }
    *function = f.function;
    *n = count;
    return Status::OK();
  }
  std::string known;
  for (const FunctionName& f : kFunctionNames) {
    if (!known.empty()) known += ", ";
    known += f.name;
    if (TakesN(f.function)) known += "(N)";
  }
  return Status::InvalidArgument("unknown aggregation function '" + std::string(text) +
                                 "' (known: " + known + ")");
}

std::string AggregationFunctionText(const Aggregation& a) {
  std::string text(AggregationFunctionName(a.function));
  if (TakesN(a.function)) text += "(" + std::to_string(a.n) + ")";
  return text;
}

std::string AggregationDefaultName(const Aggregation& a) {
  std::string name = a.column + "_" + std::string(AggregationFunctionName(a.function));
  if (TakesN(a.function)) name += std::to_string(a.n);
  name += "_";
  name += a.lifetime ? std::string("lifetime") : FormatDuration(a.window);
  return name;
}

ValueType AggregationOutputType(const Aggregation& a) {
  const ValueType in{a.column_dtype.scalar, false};
  switch (a.function) {
    case AggregationFunction::kCount:
    case AggregationFunction::kCountDistinct:
    case AggregationFunction::kApproxCountDistinct:
      return {ScalarType::kInt64, false};
    case AggregationFunction::kSum:
      return (in.scalar == ScalarType::kFloat32 || in.scalar == ScalarType::kFloat64)
                 ? ValueType{ScalarType::kFloat64, false}
                 : ValueType{ScalarType::kInt64, false};
    case AggregationFunction::kMean:
    case AggregationFunction::kStddev:
    case AggregationFunction::kVariance:
      return {ScalarType::kFloat64, false};
    case AggregationFunction::kMin:
    case AggregationFunction::kMax:
    case AggregationFunction::kFirst:
    case AggregationFunction::kLast:
      return in;
    case AggregationFunction::kFirstN:
    case AggregationFunction::kLastN:
      return {in.scalar, true};
  }
  return in;
}

Status CheckAggregationFits(AggregationFunction function, ValueType dtype) {
  const std::string fn(AggregationFunctionName(function));
  if (dtype.is_array) {
    return Status::InvalidArgument(fn + " cannot aggregate an array column (" +
                                   ValueTypeName(dtype) + ")");
  }
  switch (function) {
    case AggregationFunction::kSum:
    case AggregationFunction::kMean:
    case AggregationFunction::kStddev:
    case AggregationFunction::kVariance:
      if (!IsNumeric(dtype.scalar)) {
        return Status::InvalidArgument(fn + " needs a numeric column (Int32, Int64, Float32 or "
                                       "Float64), not " + ValueTypeName(dtype));
      }
      return Status::OK();
    case AggregationFunction::kMin:
    case AggregationFunction::kMax:
      if (!IsNumeric(dtype.scalar) && dtype.scalar != ScalarType::kString &&
          dtype.scalar != ScalarType::kUnixTimestamp) {
        return Status::InvalidArgument(fn + " needs a numeric, String or UnixTimestamp column, "
                                       "not " + ValueTypeName(dtype));
      }
      return Status::OK();
    default:
      return Status::OK();
  }
}

std::vector<Field> ViewFeatures(const FeatureView& view) {
  std::vector<Field> fields = view.schema;
  for (const Aggregation& a : view.aggregations) {
    Field f;
    f.name = a.name;
    f.dtype = AggregationOutputType(a);
    f.location = a.location;
    fields.push_back(std::move(f));
  }
  return fields;
}

}  // namespace larder
