#include "serving/online_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "serving/online_reader.h"
#include "support/test_util.h"

namespace larder::serving {
namespace {

using ::larder::testing::TempDir;

// Lists are sorted by name, as FeatureRepo requires.
FeatureRepo Repo(const std::string& feature_name) {
  FeatureRepo repo;
  repo.config.project = "proj";
  Entity user;
  user.name = "user";
  user.join_keys = {"user_id"};
  user.value_type = ValueType{ScalarType::kInt64};
  Entity book;
  book.name = "book";
  book.join_keys = {"isbn"};
  book.value_type = ValueType{ScalarType::kString};
  repo.entities.push_back(book);
  repo.entities.push_back(user);
  FeatureView users;
  users.name = "users";
  users.entities = {"user"};
  users.schema = {Field{feature_name, ValueType{ScalarType::kFloat64}, "", {}, {}}};
  FeatureView ages = users;
  ages.name = "ages";
  ages.schema = {Field{"age", ValueType{ScalarType::kInt64}, "", {}, {}}};
  FeatureView books;
  books.name = "books";
  books.entities = {"book"};
  books.schema = {Field{"title", ValueType{ScalarType::kString}, "", {}, {}}};
  repo.feature_views = {ages, books, users};
  FeatureService service;
  service.name = "model";
  service.features = {FeatureServiceItem{"users", {}}, FeatureServiceItem{"books", {}},
                      FeatureServiceItem{"ages", {}}};
  repo.feature_services.push_back(service);
  return repo;
}

class OnlineServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OnlineStoreOptions options;
    options.config = StoreConfig{"rocksdb", {{"path", tmp_.Join("online")}}};
    options.project = "proj";
    auto store = OnlineStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    repo_ = Repo("score");
    Write("users", {{EntityKey{{"user_id"}, {Value::Int64(1)}}, 100, 0, {Value::Float64(0.5)}}});
    Write("ages", {{EntityKey{{"user_id"}, {Value::Int64(1)}}, 100, 0, {Value::Int64(42)}}});
    Write("books", {{EntityKey{{"isbn"}, {Value::String("b1")}}, 100, 0, {Value::String("T")}}});
  }

  void Write(const std::string& view_name, std::vector<OnlineRecord> records) {
    OnlineView view = OnlineView::FromFeatureView(*repo_.FindFeatureView(view_name));
    ASSERT_TRUE(store_->Write(view, records).ok());
  }

  OnlineServiceOptions Options() {
    OnlineServiceOptions o;
    o.version = [this]() -> Result<int64_t> {
      ++version_calls_;
      if (!version_error_.ok()) return version_error_;
      return version_;
    };
    o.load = [this]() -> Result<FeatureRepo> {
      ++loads_;
      return repo_;
    };
    return o;
  }

  static OnlineFeaturesRequest ServiceRequest() {
    OnlineFeaturesRequest r;
    r.feature_service = "model";
    r.entity_rows["user_id"] = {Value::Int64(1), Value::Int64(2)};
    r.entity_rows["isbn"] = {Value::String("b1"), Value::String("b2")};
    return r;
  }

  TempDir tmp_;
  std::unique_ptr<OnlineStore> store_;
  FeatureRepo repo_;
  int64_t version_ = 1;
  Status version_error_;
  int version_calls_ = 0;
  int loads_ = 0;
};

TEST_F(OnlineServiceTest, ReadsEveryViewOfAServiceWithSharedKeys) {
  OnlineService service(store_.get(), Options());
  auto r = service.GetOnlineFeatures(ServiceRequest());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Join keys sorted by name, then the service's features in order.
  ASSERT_EQ(r->columns.size(), 5u);
  EXPECT_EQ(r->columns[0].name, "isbn");
  EXPECT_EQ(r->columns[1].name, "user_id");
  EXPECT_EQ(r->columns[2].name, "score");
  EXPECT_EQ(r->columns[3].name, "title");
  EXPECT_EQ(r->columns[4].name, "age");
  EXPECT_EQ(r->columns[2].values[0], Value::Float64(0.5));
  EXPECT_EQ(r->columns[3].values[0], Value::String("T"));
  EXPECT_EQ(r->columns[4].values[0], Value::Int64(42));
  for (size_t c = 2; c < 5; ++c) {
    EXPECT_EQ(r->columns[c].statuses[0], FeatureStatus::kPresent) << c;
    EXPECT_EQ(r->columns[c].statuses[1], FeatureStatus::kNotFound) << c;
    EXPECT_EQ(r->columns[c].event_timestamps[0], 100) << c;
  }
}

TEST_F(OnlineServiceTest, PlansOncePerShapeAndLoadsOncePerInterval) {
  auto options = Options();
  options.refresh_interval = std::chrono::hours(1);
  OnlineService service(store_.get(), options);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(service.GetOnlineFeatures(ServiceRequest()).ok());
  EXPECT_EQ(loads_, 1);
  EXPECT_EQ(version_calls_, 1);
  auto a = service.Plan(ServiceRequest());
  auto b = service.Plan(ServiceRequest());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());  // the same cached plan
  OnlineFeaturesRequest full = ServiceRequest();
  full.full_feature_names = true;
  auto c = service.Plan(full);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ((*c)->outputs[0].name, "users__score");
}

TEST_F(OnlineServiceTest, NewRegistryVersionIsSeenAfterTheInterval) {
  auto options = Options();
  options.refresh_interval = std::chrono::milliseconds(0);
  OnlineService service(store_.get(), options);
  ASSERT_TRUE(service.GetOnlineFeatures(ServiceRequest()).ok());
  // Same version: checked, not reloaded.
  ASSERT_TRUE(service.GetOnlineFeatures(ServiceRequest()).ok());
  EXPECT_EQ(loads_, 1);
  EXPECT_GE(version_calls_, 2);
  // A new version renames the feature: the next request sees it.
  repo_ = Repo("rating");
  version_ = 2;
  auto r = service.GetOnlineFeatures(ServiceRequest());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(loads_, 2);
  EXPECT_EQ(r->columns[2].name, "rating");
  // The stored record was written under the old schema: not usable.
  EXPECT_EQ(r->columns[2].statuses[0], FeatureStatus::kNotFound);
}

TEST_F(OnlineServiceTest, InvalidateReloadsAtOnce) {
  auto options = Options();
  options.refresh_interval = std::chrono::hours(1);
  OnlineService service(store_.get(), options);
  ASSERT_TRUE(service.GetOnlineFeatures(ServiceRequest()).ok());
  repo_ = Repo("rating");
  service.Invalidate();
  auto r = service.GetOnlineFeatures(ServiceRequest());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(loads_, 2);
  EXPECT_EQ(r->columns[2].name, "rating");
}

TEST_F(OnlineServiceTest, FailedVersionCheckKeepsServingTheSnapshot) {
  auto options = Options();
  options.refresh_interval = std::chrono::milliseconds(0);
  OnlineService service(store_.get(), options);
  ASSERT_TRUE(service.GetOnlineFeatures(ServiceRequest()).ok());
  version_error_ = Status::Busy("registry locked");
  auto r = service.GetOnlineFeatures(ServiceRequest());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns[2].values[0], Value::Float64(0.5));
}

TEST_F(OnlineServiceTest, FailedVersionCheckWithoutSnapshotIsAnError) {
  version_error_ = Status::NotFound("project 'proj' has not been applied");
  OnlineService service(store_.get(), Options());
  auto r = service.GetOnlineFeatures(ServiceRequest());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has not been applied"), std::string::npos);
}

TEST_F(OnlineServiceTest, MissingJoinKeyNamesTheKeyAndView) {
  OnlineService service(store_.get(), Options());
  OnlineFeaturesRequest r = ServiceRequest();
  r.entity_rows.erase("isbn");
  auto out = service.GetOnlineFeatures(r);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("`isbn`"), std::string::npos);
  EXPECT_NE(out.status().message().find("'books'"), std::string::npos);
}

TEST_F(OnlineServiceTest, FeatureListLongerThanTheLimitNamesTheField) {
  auto options = Options();
  options.max_features = 2;
  OnlineService service(store_.get(), options);
  OnlineFeaturesRequest r;
  r.entity_rows["user_id"] = {Value::Int64(1)};
  r.features = {"users:score", "ages:age"};
  ASSERT_TRUE(service.GetOnlineFeatures(r).ok());
  r.features.push_back("users:score");
  r.features.push_back("users:score");
  auto out = service.GetOnlineFeatures(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "features: 4 references, more than the limit of 2");
  EXPECT_EQ(service.PlanCacheStats().plans, 1u);  // only the good request's
}

TEST_F(OnlineServiceTest, DefaultLimitIsTenThousandReferences) {
  OnlineService service(store_.get(), Options());
  OnlineFeaturesRequest r = ServiceRequest();
  r.feature_service.clear();
  r.features.assign(400'000, "users:score");  // the probe: one reference repeated
  auto out = service.GetOnlineFeatures(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "features: 400000 references, more than the limit of 10000");
  EXPECT_EQ(service.PlanCacheStats().plans, 0u);
}

// Feast refuses a feature requested twice (FeatureNameCollisionError); so
// does Larder, so a request's unique features are at most its length and
// one list of features is one cache key.
TEST_F(OnlineServiceTest, RepeatedReferenceIsRefusedNamingBothPlaces) {
  OnlineService service(store_.get(), Options());
  OnlineFeaturesRequest r;
  r.entity_rows["user_id"] = {Value::Int64(1)};
  r.features = {"users:score", "ages:age", "users:score"};
  auto out = service.GetOnlineFeatures(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "features[2]: 'users:score' is already requested at features[0]; request each "
            "feature once");
  EXPECT_EQ(service.PlanCacheStats().plans, 0u);
  // The one-off path (no service) refuses it too.
  EXPECT_FALSE(GetOnlineFeatures(repo_, *store_, r, {}).ok());
}

TEST_F(OnlineServiceTest, SameFeatureNameInTwoViewsNeedsFullNames) {
  repo_ = Repo("age");  // users:age and ages:age
  OnlineService service(store_.get(), Options());
  OnlineFeaturesRequest r;
  r.entity_rows["user_id"] = {Value::Int64(1)};
  r.features = {"users:age", "ages:age"};
  auto out = service.GetOnlineFeatures(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("'users:age' and 'ages:age' would both be named `age`"),
            std::string::npos)
      << out.status().message();
  r.full_feature_names = true;
  out = service.GetOnlineFeatures(r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->columns[1].name, "users__age");
  EXPECT_EQ(out->columns[2].name, "ages__age");
}

// Many distinct large plans: the cache keeps its estimated size under the
// bound, drops the least recently used first, and never caches a plan larger
// than the bound.
TEST_F(OnlineServiceTest, PlanCacheIsBoundedInBytes) {
  FeatureView wide;
  wide.name = "wide";
  wide.entities = {"user"};
  for (int f = 0; f < 400; ++f) {
    wide.schema.push_back(Field{"feature_with_a_rather_long_name_" + std::to_string(f),
                                ValueType{ScalarType::kFloat64}, "", {}, {}});
  }
  repo_.feature_views.push_back(wide);  // after "users": still sorted by name
  auto options = Options();
  options.refresh_interval = std::chrono::hours(1);
  options.max_plan_bytes = 512 << 10;
  OnlineService service(store_.get(), options);
  auto request = [](int shift, int count) {
    OnlineFeaturesRequest r;
    r.entity_rows["user_id"] = {Value::Int64(1)};
    for (int i = 0; i < count; ++i) {
      r.features.push_back("wide:feature_with_a_rather_long_name_" +
                           std::to_string((i + shift) % 400));
    }
    return r;
  };
  size_t made = 0;  // the estimated bytes of every plan built
  std::shared_ptr<const OnlinePlan> first, last;
  for (int shift = 0; shift < 60; ++shift) {
    auto plan = service.Plan(request(shift, 300));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    made += (*plan)->EstimatedBytes();
    if (shift == 0) first = *plan;
    last = *plan;
    const auto stats = service.PlanCacheStats();
    EXPECT_LE(stats.bytes, options.max_plan_bytes) << shift;
    EXPECT_GE(stats.plans, 1u) << shift;
  }
  EXPECT_GT(made, 4 * options.max_plan_bytes);  // the bound was reached and held
  EXPECT_LT(service.PlanCacheStats().plans, 60u);
  // The most recent plan is still cached: asked again, it is the same object.
  auto again = service.Plan(request(59, 300));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), last.get());
  // The oldest was dropped: asked again, it is rebuilt.
  auto rebuilt = service.Plan(request(0, 300));
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_NE(rebuilt->get(), first.get());
  EXPECT_LE(service.PlanCacheStats().bytes, options.max_plan_bytes);

  // A plan larger than the whole bound is served but not kept.
  options.max_plan_bytes = 16 << 10;
  OnlineService small(store_.get(), options);
  auto big = small.GetOnlineFeatures(request(0, 400));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->columns.size(), 401u);
  EXPECT_EQ(small.PlanCacheStats().plans, 0u);
  EXPECT_EQ(small.PlanCacheStats().bytes, 0u);
}

// Join keys come back in their entity's dtype, whether a requested view
// needs them or not; a column that is no join key of the project is dropped,
// as Feast drops it.
TEST_F(OnlineServiceTest, EchoesJoinKeysInTheirEntityTypeAndDropsOthers) {
  OnlineService service(store_.get(), Options());
  OnlineFeaturesRequest r;
  r.features = {"books:title"};
  r.entity_rows["isbn"] = {Value::String("b1")};
  r.entity_rows["user_id"] = {Value::String("1")};  // as `larder online` gives it
  r.entity_rows["colour"] = {Value::String("red")};
  auto out = service.GetOnlineFeatures(r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->columns.size(), 3u);
  EXPECT_EQ(out->columns[0].name, "isbn");
  EXPECT_EQ(out->columns[1].name, "user_id");
  EXPECT_EQ(out->columns[1].values[0], Value::Int64(1));
  EXPECT_EQ(out->columns[1].statuses[0], FeatureStatus::kPresent);
  EXPECT_EQ(out->columns[2].name, "title");
  EXPECT_EQ(out->columns[2].values[0], Value::String("T"));
  // A value that is no user_id is echoed as given: no view reads it.
  r.entity_rows["user_id"] = {Value::String("one")};
  out = service.GetOnlineFeatures(r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->columns[1].values[0], Value::String("one"));
  // The dropped column is still a column of the entity rows: same length.
  r.entity_rows["colour"].push_back(Value::String("blue"));
  EXPECT_FALSE(service.GetOnlineFeatures(r).ok());
}

TEST_F(OnlineServiceTest, ConcurrentRequestsAgree) {
  auto options = Options();
  options.refresh_interval = std::chrono::milliseconds(0);
  OnlineService service(store_.get(), options);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = service.GetOnlineFeatures(ServiceRequest());
        if (!r.ok() || r->columns[4].values[0] != Value::Int64(42)) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace larder::serving
