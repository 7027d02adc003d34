#include "serving/online_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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
