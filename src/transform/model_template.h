// SQL model templates: the dbt-compatible subset that models/NAME.sql may use.
//
// A hand-written scanner, not a Jinja engine. Accepted constructs:
//   {{ ref('model') }}        the output table of another model
//   {{ source('name') }}      a data source's rows, raw columns (no field_mapping)
//   {{ this }}                this model's own output table
//   {{ config(k=v, ...) }}    the model's configuration; renders to nothing.
//                             Keys: materialized='view'|'table'|'incremental',
//                             unique_key='col' or ['a', 'b'],
//                             incremental_strategy='append'|'merge',
//                             lookback='3d', event_time='col',
//                             engine='duckdb'|'spark' (the offline store
//                             the SQL is written for; a store of the other
//                             engine refuses the model before any SQL runs;
//                             without it, the model runs on either)
//   {{ incremental_lower_bound() }}
//                             for incremental models with event_time: the
//                             SQL expression max(event_time) over {{ this }}
//                             minus lookback (0 without one). Only valid
//                             where is_incremental() is true.
//   {% if is_incremental() %} ... [{% else %} ...] {% endif %}
//                             also `if not is_incremental()`; may nest
//   {# comment #}             removed
// A '-' just inside a delimiter ({{- ... -}}) trims the whitespace beside it,
// as in Jinja. Anything else inside {{ }} or {% %} is an error naming the
// file, the line and the text.
//
// Parsing (ParseModelTemplate) is separate from rendering (Render), so that the
// dependency graph can be built from refs before any SQL runs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "larder/definitions.h"
#include "larder/status.h"
#include "larder/types.h"
#include "transform/sql_dialect.h"

namespace larder::transform {

enum class Materialization { kView, kTable, kIncremental };
enum class IncrementalStrategy { kAppend, kMerge };

// "view", "table", "incremental"; "append", "merge".
std::string_view MaterializationName(Materialization m);
std::string_view IncrementalStrategyName(IncrementalStrategy s);

// A model's {{ config(...) }}, validated.
struct ModelConfig {
  // Default: kTable (the example's models are tables).
  Materialization materialized = Materialization::kTable;
  // Columns whose values identify a row for merge. Default: none.
  std::vector<std::string> unique_key;
  // Default: kMerge when unique_key is set, else kAppend.
  IncrementalStrategy strategy = IncrementalStrategy::kAppend;
  // How far before max(event_time) in {{ this }} an incremental run re-reads
  // input. REQUIRES: event_time set, strategy kMerge. Default: 0.
  Duration lookback;
  // The event-time column of the model's output. Default: none.
  std::string event_time;
  // The engine whose SQL the model is written in. Default: none (either).
  std::optional<SqlEngine> engine;
};

// One piece of a parsed template.
struct TemplateNode {
  enum class Kind {
    kText,        // `text`, copied as is
    kRef,         // `name` is the model
    kSource,      // `name` is the data source
    kThis,
    kLowerBound,  // incremental_lower_bound()
    kIf,          // `negated`: `if not is_incremental()`
    kElse,
    kEndIf,
  };
  Kind kind = Kind::kText;
  std::string text;
  std::string name;
  bool negated = false;
  int line = 0;  // 1-based line of the construct (of a text's start) in the file
};

struct ParsedModel {
  std::string name;
  std::string file;  // "models/NAME.sql", for messages
  ModelConfig config;
  bool has_config = false;
  std::vector<TemplateNode> nodes;
  // Names used, in first-use order, each once, with the line of first use.
  std::vector<std::pair<std::string, int>> refs;
  std::vector<std::pair<std::string, int>> sources;
};

// Parses `model.sql`. Errors are InvalidArgument "models/NAME.sql:LINE: ...",
// naming the offending text: an unknown construct, an unclosed delimiter, an
// unbalanced if/else/endif, a bad config key or value.
Result<ParsedModel> ParseModelTemplate(const SqlModel& model);

// What rendering needs from the offline store.
struct RenderContext {
  // SQL for {{ ref(name) }} / {{ source(name) }}; a Status names what is
  // missing. REQUIRES: both set.
  std::function<Result<std::string>(const std::string& name)> ref;
  std::function<Result<std::string>(const std::string& name)> source;
  // SQL for {{ this }}.
  std::string this_sql;
  // Whether is_incremental() is true.
  bool is_incremental = false;
  // The SQL dialect that incremental_lower_bound() renders in.
  SqlEngine engine = SqlEngine::kDuckDb;
};

// Renders the template into the SQL to run. Errors name the file and line.
// When `lines` is given, it gets one entry per byte of the result: the line
// of the model file that byte came from (for what ref/source/this render to,
// the line of the construct).
Result<std::string> Render(const ParsedModel& parsed, const RenderContext& context,
                           std::vector<int>* lines = nullptr);

}  // namespace larder::transform
