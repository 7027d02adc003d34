// The scheduling keys of models and feature views: how they read, their
// defaults, and the errors (file, line and field) of bad ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "larder/repo.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kHead[] =
    "entities:\n"
    "  - {name: user, join_keys: [user_id], value_type: Int64}\n"
    "data_sources:\n"
    "  - {name: users, type: file, path: users.parquet, timestamp_field: ts}\n"
    "  - {name: ages, type: model, model: ages, timestamp_field: ts}\n";

class ScheduleRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("feature_store.yaml", "project: p\n");
    dir_.Write("defs.yaml", kHead);
    dir_.Write("models/ages.sql", "SELECT 1 AS user_id, now() AS ts, 3 AS age\n");
  }

  // Loads views.yaml (the view's keys start at line 6) and models.yaml.
  Result<FeatureRepo> Load(const std::string& view_keys, const std::string& model_keys = "") {
    dir_.Write("views.yaml",
               "feature_views:\n"
               "  - name: v\n"
               "    entities: [user]\n"
               "    source: users\n"
               "    schema: [{name: age, dtype: Int64}]\n" +
                   view_keys);
    dir_.Write("models.yaml", "models:\n  - name: ages\n" + model_keys);
    return LoadFeatureRepo(dir_.path(), LoadOptions{});
  }

  std::string Error(const std::string& view_keys, const std::string& model_keys = "") {
    Result<FeatureRepo> repo = Load(view_keys, model_keys);
    EXPECT_FALSE(repo.ok()) << view_keys << model_keys;
    return repo.ok() ? "" : repo.status().message();
  }

  TempDir dir_;
};

TEST_F(ScheduleRepoTest, ReadsTheScheduleKeysWithTheirDefaults) {
  Result<FeatureRepo> repo = Load(
      "    batch_schedule: '0  2 * *  MON-FRI'\n"
      "    materialization_lookback: 1h\n"
      "    catchup: false\n"
      "    retries: 4\n"
      "    retry_delay: 30s\n",
      "    batch_schedule: '@daily'\n");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const BatchSchedule& v = repo->FindFeatureView("v")->schedule;
  EXPECT_EQ(v.batch_schedule, "0 2 * * MON-FRI");  // normalized
  EXPECT_EQ(v.materialization_lookback.micros, Duration::kHour);
  EXPECT_FALSE(v.catchup);
  EXPECT_EQ(v.retries, 4);
  EXPECT_EQ(v.retry_delay.micros, 30 * Duration::kSecond);
  const BatchSchedule& m = repo->FindModel("ages")->schedule;
  EXPECT_EQ(m.batch_schedule, "@daily");
  EXPECT_TRUE(m.catchup);
  EXPECT_EQ(m.retries, 2);
  EXPECT_EQ(m.retry_delay.micros, Duration::kMinute);

  Result<FeatureRepo> unscheduled = Load("");
  ASSERT_TRUE(unscheduled.ok());
  EXPECT_FALSE(unscheduled->FindFeatureView("v")->schedule.scheduled());
}

TEST_F(ScheduleRepoTest, BadScheduleKeysNameFileLineAndField) {
  EXPECT_THAT(Error("    batch_schedule: '0 25 * * *'\n"),
              HasSubstr("views.yaml:6: feature view 'v': field `batch_schedule`:"));
  EXPECT_THAT(Error("    batch_schedule: '0 25 * * *'\n"), HasSubstr("hour"));
  EXPECT_THAT(Error("    batch_schedule: '@sometimes'\n"),
              HasSubstr("views.yaml:6: feature view 'v': field `batch_schedule`:"));
  EXPECT_THAT(Error("    materialization_lookback: 1h\n"),
              HasSubstr("views.yaml:6: feature view 'v': field `materialization_lookback`: "
                        "applies only with `batch_schedule`"));
  EXPECT_THAT(Error("    batch_schedule: 1h\n    retries: many\n"),
              HasSubstr("views.yaml:7: feature view 'v': field `retries`: `many` is not a whole "
                        "number from 0 to 100"));
  EXPECT_THAT(Error("    batch_schedule: 1h\n    retry_delay: 0\n"),
              HasSubstr("views.yaml:7: feature view 'v': field `retry_delay`: must be a positive "
                        "duration"));
  EXPECT_THAT(Error("    batch_schedule: 1h\n    catchup: sometimes\n"),
              HasSubstr("views.yaml:7: feature view 'v': field `catchup`: expected true or false"));
  EXPECT_THAT(Error("    batch_schedule: 1h\n    online: false\n"),
              HasSubstr("views.yaml:6: feature view 'v': field `batch_schedule`: the view is not "
                        "online (online: false), so a schedule has nothing to materialize"));
  EXPECT_THAT(Error("", "    batch_schedule: '* * *'\n"),
              HasSubstr("models.yaml:3: model 'ages': field `batch_schedule`:"));
  EXPECT_THAT(Error("", "    materialization_lookback: 1h\n"),
              HasSubstr("models.yaml:3: model 'ages': unknown field `materialization_lookback`"));
  EXPECT_THAT(Error("", "    retries: 3\n"),
              HasSubstr("models.yaml:3: model 'ages': field `retries`: applies only with "
                        "`batch_schedule`"));
}

TEST_F(ScheduleRepoTest, TimeZonesFollowCronSchedulesOnly) {
  Result<FeatureRepo> repo =
      Load("    batch_schedule: '0 2 * * *'\n    schedule_timezone: Europe/Berlin\n");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->FindFeatureView("v")->schedule.timezone, "Europe/Berlin");
  EXPECT_THAT(Error("    batch_schedule: 1h\n    schedule_timezone: Europe/Berlin\n"),
              HasSubstr("views.yaml:7: feature view 'v': field `schedule_timezone`: applies to a "
                        "cron expression or an @alias; the duration `1h` counts from the epoch"));
  EXPECT_THAT(Error("    batch_schedule: '@daily'\n    schedule_timezone: Mars/Olympus\n"),
              HasSubstr("views.yaml:7: feature view 'v': field `schedule_timezone`:"));
}

TEST_F(ScheduleRepoTest, DbtExecutableNeedsAScheduledViewOverTheSource) {
  dir_.Write("defs.yaml", std::string(kHead) +
                              "  - {name: dbt_users, type: dbt, project_dir: dbt, model: users,\n"
                              "     timestamp_field: ts, dbt_executable: dbt}\n");
  EXPECT_THAT(Error(""), HasSubstr("defs.yaml:6: data source 'dbt_users': field `dbt_executable`: "
                                   "no scheduled online view reads this source"));
  dir_.Write("views2.yaml",
             "feature_views:\n"
             "  - {name: w, entities: [user], source: dbt_users, schema: [{name: age, dtype: Int64}],\n"
             "     batch_schedule: '@daily'}\n");
  Result<FeatureRepo> repo = Load("");
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
}

}  // namespace
}  // namespace larder
