#include "transform/model_template.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace larder::transform {
namespace {

using ::testing::HasSubstr;

SqlModel Model(std::string name, std::string sql) {
  SqlModel m;
  m.name = name;
  m.sql = std::move(sql);
  m.location = {"models/" + name + ".sql", 0};
  return m;
}

RenderContext Context(bool incremental = false) {
  RenderContext ctx;
  ctx.this_sql = "\"me\"";
  ctx.is_incremental = incremental;
  ctx.ref = [](const std::string& name) -> Result<std::string> {
    if (name == "missing") return Status::NotFound("no model 'missing'");
    return "\"" + name + "\"";
  };
  ctx.source = [](const std::string& name) -> Result<std::string> {
    return "(SELECT * FROM read_parquet('" + name + ".parquet'))";
  };
  return ctx;
}

Result<std::string> RenderText(const std::string& sql, bool incremental = false) {
  LARDER_ASSIGN_OR_RETURN(ParsedModel parsed, ParseModelTemplate(Model("me", sql)));
  return Render(parsed, Context(incremental));
}

std::string ParseError(const std::string& sql) {
  Result<ParsedModel> parsed = ParseModelTemplate(Model("me", sql));
  EXPECT_FALSE(parsed.ok()) << sql;
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(ModelTemplate, RendersRefSourceAndThis) {
  Result<std::string> sql = RenderText(
      "SELECT * FROM {{ ref('up') }} JOIN {{source(\"raw\")}} USING (id) -- {{ this }}");
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(*sql,
            "SELECT * FROM \"up\" JOIN (SELECT * FROM read_parquet('raw.parquet')) USING (id) "
            "-- \"me\"");
}

TEST(ModelTemplate, CollectsRefsAndSourcesWithLines) {
  Result<ParsedModel> p = ParseModelTemplate(
      Model("me", "SELECT 1\nFROM {{ ref('a') }}\nJOIN {{ ref('b') }} JOIN {{ ref('a') }}\n"
                  "JOIN {{ source('s') }}"));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->refs.size(), 2u);
  EXPECT_EQ(p->refs[0], (std::pair<std::string, int>{"a", 2}));
  EXPECT_EQ(p->refs[1], (std::pair<std::string, int>{"b", 3}));
  ASSERT_EQ(p->sources.size(), 1u);
  EXPECT_EQ(p->sources[0].second, 4);
}

TEST(ModelTemplate, RemovesCommentsAndConfig) {
  Result<std::string> sql = RenderText(
      "{# a comment\n spanning lines #}{{ config(materialized='view') }}SELECT 1");
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(*sql, "SELECT 1");
}

TEST(ModelTemplate, WhitespaceControlTrims) {
  Result<std::string> sql = RenderText("SELECT 1\n  {{- config(materialized='view') -}}\n  AS x");
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(*sql, "SELECT 1AS x");
}

TEST(ModelTemplate, IfIsIncrementalPicksABranch) {
  std::string text =
      "SELECT * FROM t {% if is_incremental() %}WHERE ts > (SELECT max(ts) FROM {{ this }})"
      "{% else %}WHERE true{% endif %}";
  EXPECT_EQ(*RenderText(text, false), "SELECT * FROM t WHERE true");
  EXPECT_EQ(*RenderText(text, true), "SELECT * FROM t WHERE ts > (SELECT max(ts) FROM \"me\")");
  std::string negated = "A{% if not is_incremental() %}B{% endif %}C";
  EXPECT_EQ(*RenderText(negated, false), "ABC");
  EXPECT_EQ(*RenderText(negated, true), "AC");
  std::string nested =
      "{% if is_incremental() %}1{% if not is_incremental() %}2{% else %}3{% endif %}"
      "{% else %}4{% endif %}";
  EXPECT_EQ(*RenderText(nested, true), "13");
  EXPECT_EQ(*RenderText(nested, false), "4");
}

TEST(ModelTemplate, ParsesConfig) {
  Result<ParsedModel> p = ParseModelTemplate(Model(
      "me",
      "{{ config(materialized='incremental', unique_key=['a', 'b'], lookback='3d', "
      "event_time='ts') }}\nSELECT 1"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->config.materialized, Materialization::kIncremental);
  EXPECT_EQ(p->config.unique_key, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p->config.strategy, IncrementalStrategy::kMerge);  // from unique_key
  EXPECT_EQ(p->config.lookback, Duration{3 * Duration::kDay});
  EXPECT_EQ(p->config.event_time, "ts");

  p = ParseModelTemplate(Model("me", "{{ config(materialized='incremental', unique_key='id', "
                                     "incremental_strategy='append') }}"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.strategy, IncrementalStrategy::kAppend);
  EXPECT_EQ(p->config.unique_key, std::vector<std::string>{"id"});

  p = ParseModelTemplate(Model("me", "SELECT 1"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.materialized, Materialization::kTable);
}

TEST(ModelTemplate, LowerBoundRendersMaxMinusLookback) {
  std::string text =
      "{{ config(materialized='incremental', unique_key='id', lookback='1h', event_time='ts') }}"
      "SELECT * FROM s{% if is_incremental() %} WHERE ts > {{ incremental_lower_bound() }}"
      "{% endif %}";
  EXPECT_EQ(*RenderText(text, true),
            "SELECT * FROM s WHERE ts > ((SELECT max(\"ts\") FROM \"me\") - "
            "to_microseconds(CAST(3600000000 AS BIGINT)))");
  EXPECT_EQ(*RenderText(text, false), "SELECT * FROM s");
  Result<std::string> outside = RenderText(
      "{{ config(materialized='incremental', event_time='ts') }}{{ incremental_lower_bound() }}");
  ASSERT_FALSE(outside.ok());
  EXPECT_THAT(outside.status().message(), HasSubstr("models/me.sql:1"));
  EXPECT_THAT(outside.status().message(), HasSubstr("is_incremental() is false"));
}

TEST(ModelTemplate, LowerBoundRendersInTheEnginesDialect) {
  auto parsed = ParseModelTemplate(
      Model("me",
            "{{ config(materialized='incremental', unique_key='id', lookback='3d2h5s', "
            "event_time='t`s') }}WHERE ts > {{ incremental_lower_bound() }}"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  RenderContext ctx = Context(true);
  ctx.engine = SqlEngine::kSpark;
  ctx.this_sql = "`db`.`me`";
  auto sql = Render(*parsed, ctx);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(*sql,
            "WHERE ts > ((SELECT max(`t``s`) FROM `db`.`me`) - "
            "make_dt_interval(3, 0, 0, 7205.000000))");
}

TEST(ModelTemplate, EngineKeyNamesDuckDbOrSpark) {
  auto p = ParseModelTemplate(Model("me", "{{ config(engine='spark') }}SELECT 1"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->config.engine, SqlEngine::kSpark);
  p = ParseModelTemplate(Model("me", "{{ config(engine='duckdb') }}SELECT 1"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.engine, SqlEngine::kDuckDb);
  p = ParseModelTemplate(Model("me", "SELECT 1"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.engine, std::nullopt);
  EXPECT_THAT(ParseError("{{ config(engine='postgres') }}SELECT 1"),
              HasSubstr("models/me.sql:1: model 'me': config engine='postgres' is not one of "
                        "'duckdb', 'spark'"));
  EXPECT_THAT(ParseError("{{ config(engine=['spark']) }}SELECT 1"),
              HasSubstr("config `engine` takes one value"));
}

TEST(ModelTemplate, UnknownConstructsNameFileLineAndText) {
  std::string e = ParseError("SELECT 1\nFROM t\nWHERE x = {{ var('x') }}");
  EXPECT_THAT(e, HasSubstr("models/me.sql:3"));
  EXPECT_THAT(e, HasSubstr("{{ var('x') }}"));
  EXPECT_THAT(ParseError("{% for x in y %}{% endfor %}"), HasSubstr("{% for x in y %}"));
  EXPECT_THAT(ParseError("{{ ref(model) }}"), HasSubstr("ref() takes one quoted name"));
  EXPECT_THAT(ParseError("{{ ref('a', 'b') }}"), HasSubstr("ref() takes one quoted name"));
  EXPECT_THAT(ParseError("{{ this.name }}"), HasSubstr("unsupported template expression"));
  EXPECT_THAT(ParseError("{% if var('x') %}1{% endif %}"), HasSubstr("is_incremental()"));
}

TEST(ModelTemplate, StructuralErrors) {
  EXPECT_THAT(ParseError("SELECT\n{{ ref('a')"),
              HasSubstr("models/me.sql:2: model 'me': `{{` is never closed"));
  EXPECT_THAT(ParseError("{# open"), HasSubstr("`{#` is never closed"));
  EXPECT_THAT(ParseError("\n{% if is_incremental() %}x"),
              HasSubstr("models/me.sql:2: model 'me': `{% if %}` is never closed"));
  EXPECT_THAT(ParseError("{% endif %}"), HasSubstr("without `{% if %}`"));
  EXPECT_THAT(ParseError("{% else %}"), HasSubstr("without `{% if %}`"));
  EXPECT_THAT(ParseError("{% if is_incremental() %}{% else %}{% else %}{% endif %}"),
              HasSubstr("a second `{% else %}`"));
}

TEST(ModelTemplate, ConfigErrors) {
  EXPECT_THAT(ParseError("{{ config(materialized='ephemeral') }}"),
              HasSubstr("materialized='ephemeral' is not one of"));
  EXPECT_THAT(ParseError("{{ config(schema='x') }}"), HasSubstr("unknown config key `schema`"));
  EXPECT_THAT(ParseError("{{ config(materialized='table') }}{{ config(materialized='view') }}"),
              HasSubstr("a second `config(...)`"));
  EXPECT_THAT(ParseError("{{ config(materialized='incremental', incremental_strategy='merge') }}"),
              HasSubstr("needs a unique_key"));
  EXPECT_THAT(ParseError("{{ config(materialized='incremental', unique_key='id', "
                         "lookback='2d') }}"),
              HasSubstr("lookback needs event_time"));
  EXPECT_THAT(ParseError("{{ config(materialized='incremental', lookback='2d', "
                         "event_time='ts') }}"),
              HasSubstr("would insert the re-read rows twice"));
  EXPECT_THAT(ParseError("{{ config(materialized='incremental', unique_key='id', "
                         "event_time='ts', lookback='2 days') }}"),
              HasSubstr("lookback='2 days'"));
  EXPECT_THAT(ParseError("{{ config(incremental_strategy='insert_overwrite') }}"),
              HasSubstr("not one of 'append', 'merge'"));
  EXPECT_THAT(ParseError("{{ incremental_lower_bound() }}"),
              HasSubstr("incremental_lower_bound() needs config"));
}

TEST(ModelTemplate, UnknownRefAtRenderNamesModelAndRef) {
  Result<std::string> sql = RenderText("SELECT 1\nFROM {{ ref('missing') }}");
  ASSERT_FALSE(sql.ok());
  EXPECT_THAT(sql.status().message(),
              HasSubstr("models/me.sql:2: model 'me': ref('missing'): no model 'missing'"));
}

// Random splices of template pieces: parsing and rendering either succeed
// or fail with InvalidArgument naming the file; they never crash.
TEST(ModelTemplate, RandomInputNeverCrashes) {
  const std::vector<std::string> pieces = {
      "{{", "}}", "{%", "%}", "{#", "#}", "-", " ", "\n", "ref(", "source(", "'a'", "\"b",
      ")", "this", "config(", "materialized=", "'incremental'", "unique_key=", "['x',", "]",
      ",", "if", "is_incremental()", "not", "else", "endif", "incremental_lower_bound()",
      "event_time='t'", "lookback='1d'", "SELECT 1", "{", "}", "%", "#", "'", "="};
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string sql;
    const int n = static_cast<int>(rng() % 12);
    for (int j = 0; j < n; ++j) sql += pieces[rng() % pieces.size()];
    Result<ParsedModel> parsed = ParseModelTemplate(Model("me", sql));
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << sql;
      EXPECT_THAT(parsed.status().message(), HasSubstr("models/me.sql:")) << sql;
      continue;
    }
    for (bool incremental : {false, true}) {
      Result<std::string> out = Render(*parsed, Context(incremental));
      if (!out.ok()) {
        EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << sql;
      }
    }
  }
}

}  // namespace
}  // namespace larder::transform
