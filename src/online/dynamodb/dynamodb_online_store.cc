#include "online/dynamodb/dynamodb_online_store.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "online/dynamodb/http_client.h"
#include "online/dynamodb/sigv4.h"
#include "online/entity_key.h"
#include "online/store_options.h"
#include "online/record_codec.h"
#include "common/base64.h"
#include "common/names.h"

namespace larder::online {
namespace {

using json = nlohmann::json;

constexpr std::string_view kProjectPlaceholder = "{project}";
constexpr std::string_view kViewPlaceholder = "{table_name}";
constexpr std::string_view kTargetPrefix = "DynamoDB_20120810.";
// After a view's name in the name of its aggregation states' table.
constexpr std::string_view kStatesSuffix = ".states";
// Rounds of read, merge and conditional write before UpdateStates gives up
// on keys that other writers keep changing.
constexpr int kStateAttempts = 30;
// How long to wait for a table to become ACTIVE or to disappear.
constexpr auto kTableWait = std::chrono::minutes(5);

// The conditional-write rule of online_store.h as a DynamoDB condition: the
// item is written when there is none, when a stored attribute is missing or
// not a number (an item Larder did not write, healed as RocksDB and Redis
// heal unparsable records), when it was written under another schema, or
// when the incoming (event_ts, created_ts, tie) is greater. An item without
// a numeric tie (written before records had a tie key) loses to any record
// with equal timestamps, as in record_codec.h.
constexpr std::string_view kCondition =
    "NOT attribute_type(#e, :n) OR NOT attribute_type(#c, :n) OR NOT attribute_type(#f, :n) OR "
    "#f <> :f OR #e < :e OR (#e = :e AND #c < :c) OR "
    "(#e = :e AND #c = :c AND (NOT attribute_type(#t, :n) OR #t < :t))";

// ---------------------------------------------------------------- options


bool IsTableNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}
bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string Substitute(std::string_view text, std::string_view project, std::string_view view) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.substr(pos).starts_with(kProjectPlaceholder)) {
      out += project;
      pos += kProjectPlaceholder.size();
    } else if (text.substr(pos).starts_with(kViewPlaceholder)) {
      out += view;
      pos += kViewPlaceholder.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

Status CheckTemplate(std::string_view t) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("online_store.table_name_template: '" + std::string(t) +
                                   "': " + why);
  };
  const size_t p = t.find(kProjectPlaceholder);
  const size_t v = t.find(kViewPlaceholder);
  if (p == std::string_view::npos || v == std::string_view::npos) {
    return bad("must contain both {project} and {table_name}");
  }
  if (t.find(kProjectPlaceholder, p + 1) != std::string_view::npos ||
      t.find(kViewPlaceholder, v + 1) != std::string_view::npos) {
    return bad("{project} and {table_name} may appear once each");
  }
  const std::string literal = Substitute(t, "", "");
  for (char c : literal) {
    if (!IsTableNameChar(c)) {
      return bad(std::string("'") + c +
                 "' cannot appear in a DynamoDB table name (A-Z a-z 0-9 _ . - only)");
    }
  }
  const size_t first_end =
      p < v ? p + kProjectPlaceholder.size() : v + kViewPlaceholder.size();
  const size_t second = std::max(p, v);
  const std::string_view between = t.substr(first_end, second - first_end);
  if (std::all_of(between.begin(), between.end(), IsIdentifierChar)) {
    return bad("{project} and {table_name} must be separated by a character that is not a "
               "letter, digit or underscore, such as '.' or '-' (so that one project's tables "
               "cannot be taken for another's)");
  }
  return Status::OK();
}

std::string EnvOr(const char* name, std::string def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : def;
}

// ---------------------------------------------------------------- helpers

std::string ShortErrorType(std::string_view type) {
  const size_t hash = type.rfind('#');
  return std::string(hash == std::string_view::npos ? type : type.substr(hash + 1));
}

bool IsRetryable(int http_status, std::string_view type) {
  return http_status >= 500 || type == "ProvisionedThroughputExceededException" ||
         type == "ThrottlingException" || type == "RequestLimitExceeded" ||
         type == "InternalServerError" || type == "ServiceUnavailable" ||
         type == "LimitExceededException" || type == "TransactionInProgressException";
}

template <typename T>
bool ParseNumber(const json& attr, T* out) {
  if (!attr.is_object()) return false;
  auto it = attr.find("N");
  if (it == attr.end() || !it->is_string()) return false;
  const std::string& s = it->template get_ref<const std::string&>();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseBinary(const json& item, std::string_view name, std::string* out) {
  auto it = item.find(name);
  if (it == item.end() || !it->is_object()) return false;
  auto b = it->find("B");
  if (b == it->end() || !b->is_string()) return false;
  return Base64Decode(b->get_ref<const std::string&>(), out);
}

void Backoff(int attempt) {
  thread_local std::mt19937 rng(std::random_device{}());
  const int cap = std::min(2000, 25 << std::min(attempt, 10));
  std::uniform_int_distribution<int> jitter(cap / 2, cap);
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
}

// One record to send for an entity key: the batch's records of that key
// that land one after another when the stored record is older than all of
// them (the "chain": each greater than every earlier one). The last is sent.
struct KeyWrite {
  std::string key;  // entity key bytes
  std::vector<size_t> chain;
};

class DynamoDbOnlineStore final : public OnlineStore {
 public:
  DynamoDbOnlineStore(std::string project, DynamoDbOptions options, AwsCredentials credentials,
                      HttpUrl url)
      : project_(std::move(project)),
        options_(std::move(options)),
        credentials_(std::move(credentials)),
        scope_{options_.region, "dynamodb"},
        http_(std::move(url), HttpClientOptions{std::min(options_.timeout_ms, 10000),
                                                options_.timeout_ms, 256, AwsCaBundle()}) {}

  std::string_view type() const override { return "dynamodb"; }

  Result<OnlineWriteSummary> Write(const OnlineView& view, std::span<const OnlineRecord> records,
                                   const OnlineWriteOptions& options) override;
  Status MultiGetViews(std::span<const OnlineViewRead> reads) override;
  Status Delete(const OnlineView& view, std::span<const EntityKey> keys) override;
  Status DeleteView(std::string_view view_name) override;
  Status DeleteProject() override;
  bool SupportsStates() const override { return true; }
  Status UpdateStates(std::string_view view_name, std::span<const EntityKey> keys,
                      const OnlineStateUpdate& update, const OnlineWriteOptions& options) override;
  Status VisitStates(std::string_view view_name, std::span<const EntityKey> keys,
                     const OnlineStateVisit& visit) override;

 private:
  // A stored aggregation state and its version (the `v` attribute, which
  // every conditional write of the state checks and increments).
  struct StoredState {
    std::string bytes;
    int64_t version = 0;
  };
  // The outcome of one API call: the parsed body of a 200 answer, or an
  // error; `error_type` is the DynamoDB error type (without its namespace)
  // when the server answered with one.
  struct Reply {
    Status status;
    std::string error_type;
    json body;
  };

  std::string Where() const { return "dynamodb online store " + options_.endpoint_url; }
  Status Error(std::string_view what, std::string_view detail) const {
    return Status::IOError(Where() + ": " + std::string(what) + ": " + std::string(detail));
  }
  // Calls `op` with retries of throttling, 5xx and transport errors.
  Reply Call(std::string_view op, const json& request, std::string_view what);
  Result<std::string> Table(std::string_view view) const {
    return DynamoDbTableName(options_.table_name_template, project_, view);
  }
  // The table of a view's aggregation states: the view's table name with
  // ".states" after the view's name (no view name has a dot).
  Result<std::string> StatesTable(std::string_view view) const {
    return DynamoDbTableName(options_.table_name_template, project_,
                             std::string(view) + std::string(kStatesSuffix));
  }
  // The entity key bytes of `keys`' states in `view_name`, in order.
  Result<std::vector<std::string>> StateKeyBytes(std::string_view view_name,
                                                 std::span<const EntityKey> keys,
                                                 bool distinct) const;
  // The stored states of `keys` (entity key bytes) in `table`, by key;
  // none when the table does not exist. Consistent reads.
  Result<std::map<std::string, StoredState>> GetStates(const std::string& table,
                                                       const std::vector<std::string>& keys,
                                                       std::string_view what);
  // BatchWriteItem DeleteRequests of `keys` (distinct entity key bytes),
  // retrying unprocessed ones; OK when the table does not exist.
  Status DeleteKeys(const std::string& table, const std::set<std::string>& keys,
                    std::string_view what);
  // "ACTIVE", "CREATING", ...; "" when the table does not exist.
  Result<std::string> TableStatus(const std::string& table, std::string_view what);
  // Creates the table when missing and waits until it is usable.
  Status EnsureTable(const std::string& table, std::string_view what);
  // Deletes the tables (missing ones are fine) and waits until they are gone.
  Status DeleteTables(const std::vector<std::string>& tables, std::string_view what);
  void Forget(const std::string& table) {
    std::lock_guard lock(tables_mu_);
    ready_tables_.erase(table);
  }

  const std::string project_;
  const DynamoDbOptions options_;
  const AwsCredentials credentials_;
  const SigV4Scope scope_;
  HttpClient http_;
  std::mutex tables_mu_;
  std::set<std::string> ready_tables_;  // guarded by tables_mu_; known to exist
};

DynamoDbOnlineStore::Reply DynamoDbOnlineStore::Call(std::string_view op, const json& request,
                                                      std::string_view what) {
  const std::string body = request.dump();
  Reply reply;
  for (int attempt = 0;; ++attempt) {
    SigV4Request req;
    req.headers = {{"Host", http_.url().HostHeader()},
                   {"Content-Type", "application/x-amz-json-1.0"},
                   {"X-Amz-Target", std::string(kTargetPrefix) + std::string(op)}};
    req.payload = body;
    const auto now = std::chrono::system_clock::now();
    SignRequest(credentials_, scope_,
                AmzDate(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch())
                            .count()),
                &req);
    auto response = http_.Post(http_.url().path, req.headers, body);
    bool retry = false;
    if (!response.ok()) {
      reply.status = Error(what, std::string(op) + ": " + response.status().message());
      reply.error_type.clear();
      retry = true;
    } else {
      json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (response->status == 200) {
        if (parsed.is_discarded() || !parsed.is_object()) {
          reply.status = Error(what, std::string(op) + ": the response is not a JSON object");
          return reply;
        }
        reply.status = Status::OK();
        reply.error_type.clear();
        reply.body = std::move(parsed);
        return reply;
      }
      std::string type, message;
      if (parsed.is_object()) {
        if (auto t = parsed.find("__type"); t != parsed.end() && t->is_string()) {
          type = ShortErrorType(t->get_ref<const std::string&>());
        }
        for (const char* key : {"message", "Message"}) {
          if (auto m = parsed.find(key); m != parsed.end() && m->is_string()) {
            message = m->get<std::string>();
          }
        }
      }
      if (type.empty() && message.empty()) message = response->body.substr(0, 200);
      reply.error_type = type;
      reply.status = Error(what, std::string(op) + ": HTTP " + std::to_string(response->status) +
                                     ": " + (type.empty() ? "" : type + ": ") + message);
      retry = IsRetryable(response->status, type);
    }
    if (!retry || attempt >= options_.max_retries) {
      if (retry && attempt > 0) {
        reply.status = Status::IOError(reply.status.message() + " (after " +
                                       std::to_string(attempt + 1) + " attempts)");
      }
      return reply;
    }
    Backoff(attempt);
  }
}

Result<std::string> DynamoDbOnlineStore::TableStatus(const std::string& table,
                                                     std::string_view what) {
  Reply r = Call("DescribeTable", {{"TableName", table}}, what);
  if (r.error_type == "ResourceNotFoundException") return std::string();
  if (!r.status.ok()) return r.status;
  auto t = r.body.find("Table");
  if (t == r.body.end() || !t->is_object()) return Error(what, "DescribeTable: no Table in reply");
  auto s = t->find("TableStatus");
  if (s == t->end() || !s->is_string()) return std::string("ACTIVE");
  return s->get<std::string>();
}

Status DynamoDbOnlineStore::EnsureTable(const std::string& table, std::string_view what) {
  {
    std::lock_guard lock(tables_mu_);
    if (ready_tables_.count(table) != 0) return Status::OK();
  }
  const auto deadline = std::chrono::steady_clock::now() + kTableWait;
  int wait_ms = 20;
  while (true) {
    LARDER_ASSIGN_OR_RETURN(std::string status, TableStatus(table, what));
    if (status == "ACTIVE" || status == "UPDATING") break;
    if (status.empty()) {
      const json create = {
          {"TableName", table},
          {"AttributeDefinitions", json::array({{{"AttributeName", "entity_id"},
                                                 {"AttributeType", "B"}}})},
          {"KeySchema", json::array({{{"AttributeName", "entity_id"}, {"KeyType", "HASH"}}})},
          {"BillingMode", "PAY_PER_REQUEST"}};
      Reply r = Call("CreateTable", create, what);
      // ResourceInUseException: another writer created it first.
      if (!r.status.ok() && r.error_type != "ResourceInUseException") return r.status;
      continue;
    }
    // CREATING, or DELETING (then it is created again once gone).
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(what, "table '" + table + "' is still " + status + " after " +
                             std::to_string(kTableWait.count()) + " minutes");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = std::min(wait_ms * 2, 1000);
  }
  std::lock_guard lock(tables_mu_);
  ready_tables_.insert(table);
  return Status::OK();
}

Status DynamoDbOnlineStore::DeleteTables(const std::vector<std::string>& tables,
                                         std::string_view what) {
  for (const std::string& table : tables) {
    Forget(table);
    const auto deadline = std::chrono::steady_clock::now() + kTableWait;
    while (true) {
      Reply r = Call("DeleteTable", {{"TableName", table}}, what);
      if (r.status.ok() || r.error_type == "ResourceNotFoundException") break;
      // ResourceInUseException: being created or deleted; try again.
      if (r.error_type != "ResourceInUseException" ||
          std::chrono::steady_clock::now() > deadline) {
        return r.status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  for (const std::string& table : tables) {
    const auto deadline = std::chrono::steady_clock::now() + kTableWait;
    int wait_ms = 20;
    while (true) {
      LARDER_ASSIGN_OR_RETURN(std::string status, TableStatus(table, what));
      if (status.empty()) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return Error(what, "table '" + table + "' is still " + status + " after " +
                               std::to_string(kTableWait.count()) + " minutes");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      wait_ms = std::min(wait_ms * 2, 1000);
    }
    Forget(table);
  }
  return Status::OK();
}

Result<OnlineWriteSummary> DynamoDbOnlineStore::Write(const OnlineView& view,
                                                      std::span<const OnlineRecord> records,
                                                      const OnlineWriteOptions& /*options*/) {
  OnlineWriteSummary summary;
  const size_t n = records.size();
  if (n == 0) return summary;

  // 1. Check and encode the whole batch before sending anything.
  std::vector<std::string> values(n);
  std::vector<RecordHeader> headers(n);
  std::vector<KeyWrite> writes;
  std::unordered_map<std::string, size_t> by_key;
  for (size_t i = 0; i < n; ++i) {
    std::string key;
    Status s = EncodeEntityKey(records[i].entity_key, &key);
    if (s.ok()) s = EncodeRecord(view, records[i], &values[i], &headers[i]);
    if (!s.ok()) {
      return s.WithContext("feature view '" + view.name() + "': record " + std::to_string(i));
    }
    auto [it, inserted] = by_key.try_emplace(std::move(key), writes.size());
    if (inserted) {
      writes.push_back({it->first, {i}});
      continue;
    }
    // A record not greater than an earlier one of its key is skipped
    // whatever is stored: that earlier record landed or lost to a newer one.
    std::vector<size_t>& chain = writes[it->second].chain;
    if (IsNewer(headers[i], headers[chain.back()])) {
      chain.push_back(i);
    } else {
      ++summary.skipped;
    }
  }
  LARDER_ASSIGN_OR_RETURN(const std::string table, Table(view.name()));
  const std::string what = "write feature view '" + view.name() + "' (table '" + table + "')";
  LARDER_RETURN_IF_ERROR(EnsureTable(table, what));

  // 2. One conditional PutItem per key, `concurrency` at a time.
  const std::string fingerprint = std::to_string(view.fingerprint());
  std::atomic<size_t> next{0};
  std::atomic<int64_t> written{0}, skipped{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  Status first_error;
  std::vector<size_t> missing_table;  // guarded by error_mu: writes to redo
  // Sets *table_missing (and returns OK) when the table is gone.
  auto put = [&](const KeyWrite& w, bool* table_missing) -> Status {
    const RecordHeader& head = headers[w.chain.back()];
    const std::string ev = std::to_string(head.event_timestamp);
    const std::string cr = std::to_string(head.created_timestamp);
    const std::string tie = std::to_string(head.tie_key);
    json request = {
        {"TableName", table},
        {"Item",
         {{"entity_id", {{"B", Base64Encode(w.key)}}},
          {"event_ts", {{"N", ev}}},
          {"created_ts", {{"N", cr}}},
          {"fingerprint", {{"N", fingerprint}}},
          {"tie", {{"N", tie}}},
          {"record", {{"B", Base64Encode(values[w.chain.back()])}}}}},
        {"ConditionExpression", kCondition},
        {"ExpressionAttributeNames",
         {{"#e", "event_ts"}, {"#c", "created_ts"}, {"#f", "fingerprint"}, {"#t", "tie"}}},
        {"ExpressionAttributeValues",
         {{":e", {{"N", ev}}},
          {":c", {{"N", cr}}},
          {":f", {{"N", fingerprint}}},
          {":t", {{"N", tie}}},
          {":n", {{"S", "N"}}}}}};
    // The old item tells how many of the chain were newer than it.
    if (w.chain.size() > 1) request["ReturnValues"] = "ALL_OLD";
    Reply r = Call("PutItem", request, what);
    if (r.error_type == "ConditionalCheckFailedException") {
      skipped += static_cast<int64_t>(w.chain.size());
      return Status::OK();
    }
    if (r.error_type == "ResourceNotFoundException") {
      *table_missing = true;
      return Status::OK();
    }
    if (!r.status.ok()) return r.status;
    int64_t landed = static_cast<int64_t>(w.chain.size());
    if (w.chain.size() > 1) {
      auto old = r.body.find("Attributes");
      RecordHeader stored;
      if (old != r.body.end() && old->is_object() &&
          ParseNumber(old->value("event_ts", json()), &stored.event_timestamp) &&
          ParseNumber(old->value("created_ts", json()), &stored.created_timestamp) &&
          ParseNumber(old->value("fingerprint", json()), &stored.schema_fingerprint) &&
          stored.schema_fingerprint == view.fingerprint()) {
        stored.has_tie_key = ParseNumber(old->value("tie", json()), &stored.tie_key);
        landed = 0;
        for (size_t i : w.chain) landed += IsNewer(headers[i], stored) ? 1 : 0;
      }
    }
    written += landed;
    skipped += static_cast<int64_t>(w.chain.size()) - landed;
    return Status::OK();
  };
  auto run = [&](const std::vector<size_t>& todo) {
    while (!failed) {
      const size_t k = next++;
      if (k >= todo.size()) return;
      bool table_missing = false;
      Status s = put(writes[todo[k]], &table_missing);
      if (s.ok() && !table_missing) continue;
      std::lock_guard lock(error_mu);
      if (table_missing) {
        missing_table.push_back(todo[k]);  // deleted meanwhile: create and redo
        continue;
      }
      if (first_error.ok()) first_error = s;
      failed = true;
    }
  };
  auto run_all = [&](const std::vector<size_t>& todo) {
    next = 0;
    const size_t threads =
        std::min(todo.size(), static_cast<size_t>(std::max(1, options_.concurrency)));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(run, std::cref(todo));
    run(todo);
    for (std::thread& t : pool) t.join();
  };
  std::vector<size_t> all(writes.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  run_all(all);
  if (!failed && !missing_table.empty()) {
    Forget(table);
    LARDER_RETURN_IF_ERROR(EnsureTable(table, what));
    std::vector<size_t> redo;
    redo.swap(missing_table);
    run_all(redo);
    if (!failed && !missing_table.empty()) {
      return Error(what, "table '" + table + "' disappeared during the write");
    }
  }
  if (failed) return first_error;
  summary.written += written;
  summary.skipped += skipped;
  return summary;
}

Status DynamoDbOnlineStore::MultiGetViews(std::span<const OnlineViewRead> reads) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeReadKeys(project_, reads, /*hash_tag=*/false));
  if (encoded.empty()) return Status::OK();

  // Distinct (table, entity key) pairs; `slot[k]` is the pair of key k.
  struct Unique {
    size_t table = 0;
    std::string key;
    std::string record;  // the stored record bytes, when found
    bool found = false;
  };
  std::vector<std::string> tables;
  std::vector<Unique> unique;
  std::vector<size_t> slot(encoded.size());
  std::unordered_map<std::string, size_t> index;  // table '\0' key -> unique
  {
    size_t k = 0;
    for (const OnlineViewRead& r : reads) {
      LARDER_ASSIGN_OR_RETURN(std::string table, Table(r.view->name()));
      auto t = std::find(tables.begin(), tables.end(), table);
      const size_t ti = static_cast<size_t>(t - tables.begin());
      if (t == tables.end()) tables.push_back(table);
      const size_t prefix = ViewKeyPrefix(project_, r.view->name()).size();
      for (size_t i = 0; i < r.keys.size(); ++i, ++k) {
        std::string key = encoded[k].substr(prefix);
        auto [it, inserted] =
            index.try_emplace(std::to_string(ti) + '\0' + key, unique.size());
        if (inserted) unique.push_back({ti, std::move(key), {}, false});
        slot[k] = it->second;
      }
    }
  }
  std::unordered_map<std::string, size_t> table_index;
  for (size_t i = 0; i < tables.size(); ++i) table_index[tables[i]] = i;
  std::mutex missing_mu;
  std::vector<char> missing(tables.size(), 0);  // guarded by missing_mu

  // Reads the unique keys [begin, end) with BatchGetItem calls, retrying
  // unprocessed keys. Chunks touch disjoint entries of `unique`.
  const std::string what = "read";
  auto fetch = [&](size_t begin, size_t end) -> Status {
    const auto in_chunk = [&](size_t table, const std::string& key) -> std::optional<size_t> {
      auto u = index.find(std::to_string(table) + '\0' + key);
      if (u == index.end() || u->second < begin || u->second >= end) return std::nullopt;
      return u->second;
    };
    std::vector<size_t> pending;
    for (size_t u = begin; u < end; ++u) pending.push_back(u);
    for (int attempt = 0; !pending.empty(); ++attempt) {
      json items = json::object();
      {
        std::lock_guard lock(missing_mu);
        for (size_t u : pending) {
          if (missing[unique[u].table] != 0) continue;
          json& t = items[tables[unique[u].table]];
          if (t.is_null()) t = {{"Keys", json::array()}, {"ConsistentRead", true}};
          t["Keys"].push_back({{"entity_id", {{"B", Base64Encode(unique[u].key)}}}});
        }
      }
      if (items.empty()) break;
      Reply r = Call("BatchGetItem", {{"RequestItems", items}}, what);
      if (r.error_type == "ResourceNotFoundException") {
        // A table of the request does not exist (a view never written): its
        // keys are not found. Find which, and ask again without them.
        bool any = false;
        for (auto it = items.begin(); it != items.end(); ++it) {
          LARDER_ASSIGN_OR_RETURN(std::string status, TableStatus(it.key(), what));
          if (status.empty() || status == "CREATING") {
            std::lock_guard lock(missing_mu);
            missing[table_index.at(it.key())] = 1;
            any = true;
          }
        }
        if (!any) return r.status;
        continue;
      }
      if (!r.status.ok()) return r.status;
      const json& responses = r.body.value("Responses", json::object());
      if (!responses.is_object()) return Error(what, "BatchGetItem: malformed Responses");
      for (auto it = responses.begin(); it != responses.end(); ++it) {
        auto ti = table_index.find(it.key());
        if (ti == table_index.end() || !it->is_array()) {
          return Error(what, "BatchGetItem: unexpected table '" + it.key() + "' in the reply");
        }
        for (const json& item : *it) {
          std::string key, record;
          if (!item.is_object() || !ParseBinary(item, "entity_id", &key) ||
              !ParseBinary(item, "record", &record)) {
            return Status::Corruption(Where() + ": table '" + it.key() +
                                      "': an item has no binary entity_id and record");
          }
          if (auto u = in_chunk(ti->second, key)) {
            unique[*u].record = std::move(record);
            unique[*u].found = true;
          }
        }
      }
      pending.clear();
      const json& unprocessed = r.body.value("UnprocessedKeys", json::object());
      if (unprocessed.is_object()) {
        for (auto it = unprocessed.begin(); it != unprocessed.end(); ++it) {
          auto ti = table_index.find(it.key());
          if (ti == table_index.end() || !it->is_object()) continue;
          for (const json& k : it->value("Keys", json::array())) {
            std::string key;
            if (!k.is_object() || !ParseBinary(k, "entity_id", &key)) continue;
            if (auto u = in_chunk(ti->second, key)) pending.push_back(*u);
          }
        }
      }
      if (pending.empty()) break;
      if (attempt >= options_.max_retries) {
        return Error(what, "BatchGetItem: " + std::to_string(pending.size()) +
                               " keys still unprocessed after " + std::to_string(attempt + 1) +
                               " attempts");
      }
      Backoff(attempt);
    }
    return Status::OK();
  };

  // Chunks of batch_size keys, `concurrency` requests at a time.
  const size_t batch = static_cast<size_t>(options_.batch_size);
  const size_t chunks = (unique.size() + batch - 1) / batch;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  Status first_error;
  auto run = [&] {
    while (!failed) {
      const size_t c = next++;
      if (c >= chunks) return;
      Status s = fetch(c * batch, std::min(unique.size(), (c + 1) * batch));
      if (s.ok()) continue;
      std::lock_guard lock(error_mu);
      if (first_error.ok()) first_error = std::move(s);
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  const size_t threads = std::min(chunks, static_cast<size_t>(options_.concurrency));
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (std::thread& t : pool) t.join();
  if (failed) return first_error;

  size_t k = 0;
  for (const OnlineViewRead& r : reads) {
    for (size_t i = 0; i < r.keys.size(); ++i, ++k) {
      const Unique& u = unique[slot[k]];
      if (!u.found) continue;  // state stays kNotFound
      Status s = DecodeRecord(*r.view, u.record, &(*r.results)[i]);
      if (!s.ok()) {
        return s.WithContext(Where() + ": table '" + tables[u.table] + "': feature view '" +
                             r.view->name() + "': entity key " + std::to_string(i));
      }
    }
  }
  return Status::OK();
}

// BatchWriteItem DeleteRequests, 25 distinct keys per call (the API's limit;
// it refuses a call that names one key twice), retrying unprocessed items.
Status DynamoDbOnlineStore::Delete(const OnlineView& view, std::span<const EntityKey> keys) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeViewKeys(project_, view, keys, /*hash_tag=*/false));
  const size_t prefix = ViewKeyPrefix(project_, view.name()).size();
  std::set<std::string> distinct;
  for (const std::string& key : encoded) distinct.insert(key.substr(prefix));
  if (distinct.empty()) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(const std::string table, Table(view.name()));
  const std::string what =
      "delete from feature view '" + view.name() + "' (table '" + table + "')";
  LARDER_RETURN_IF_ERROR(DeleteKeys(table, distinct, what));
  // And their aggregation states.
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> state_keys,
                          StateKeyBytes(view.name(), keys, /*distinct=*/false));
  LARDER_ASSIGN_OR_RETURN(const std::string states, StatesTable(view.name()));
  return DeleteKeys(states, std::set<std::string>(state_keys.begin(), state_keys.end()),
                    "delete aggregation states of feature view '" + view.name() + "' (table '" +
                        states + "')");
}

Status DynamoDbOnlineStore::DeleteKeys(const std::string& table,
                                       const std::set<std::string>& distinct,
                                       std::string_view what) {
  constexpr size_t kBatchWriteLimit = 25;
  auto it = distinct.begin();
  while (it != distinct.end()) {
    json requests = json::array();
    for (size_t n = 0; n < kBatchWriteLimit && it != distinct.end(); ++n, ++it) {
      requests.push_back({{"DeleteRequest", {{"Key", {{"entity_id", {{"B", Base64Encode(*it)}}}}}}}});
    }
    for (int attempt = 0;; ++attempt) {
      Reply r = Call("BatchWriteItem", {{"RequestItems", {{table, requests}}}}, what);
      // No table: the view was never written, so there is nothing to delete.
      if (r.error_type == "ResourceNotFoundException") return Status::OK();
      if (!r.status.ok()) return r.status;
      const json& unprocessed = r.body.value("UnprocessedItems", json::object());
      auto left = unprocessed.is_object() ? unprocessed.find(table) : unprocessed.end();
      if (!unprocessed.is_object() || left == unprocessed.end() || !left->is_array() ||
          left->empty()) {
        break;
      }
      if (attempt >= options_.max_retries) {
        return Error(what, "BatchWriteItem: " + std::to_string(left->size()) +
                               " deletes still unprocessed after " + std::to_string(attempt + 1) +
                               " attempts");
      }
      requests = *left;
      Backoff(attempt);
    }
  }
  return Status::OK();
}

Status DynamoDbOnlineStore::DeleteView(std::string_view view_name) {
  auto table = Table(view_name);
  auto states = StatesTable(view_name);
  if (!table.ok() || !states.ok()) return Status::OK();  // no such table can exist
  return DeleteTables({*table, *states}, "delete feature view '" + std::string(view_name) +
                                             "' (tables '" + *table + "', '" + *states + "')");
}

Result<std::vector<std::string>> DynamoDbOnlineStore::StateKeyBytes(
    std::string_view view_name, std::span<const EntityKey> keys, bool distinct) const {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeStateKeys(project_, view_name, keys, /*hash_tag=*/false, distinct));
  const size_t prefix = ViewKeyPrefix(project_, StateKeyspace(view_name)).size();
  for (std::string& key : encoded) key.erase(0, prefix);
  return encoded;
}

Result<std::map<std::string, DynamoDbOnlineStore::StoredState>> DynamoDbOnlineStore::GetStates(
    const std::string& table, const std::vector<std::string>& keys, std::string_view what) {
  std::map<std::string, StoredState> out;
  const std::set<std::string> distinct(keys.begin(), keys.end());
  std::vector<std::string> all(distinct.begin(), distinct.end());
  const size_t batch = static_cast<size_t>(options_.batch_size);
  for (size_t start = 0; start < all.size(); start += batch) {
    json request_keys = json::array();
    for (size_t i = start; i < std::min(all.size(), start + batch); ++i) {
      request_keys.push_back({{"entity_id", {{"B", Base64Encode(all[i])}}}});
    }
    json items = {{table, {{"Keys", request_keys}, {"ConsistentRead", true}}}};
    for (int attempt = 0;; ++attempt) {
      Reply r = Call("BatchGetItem", {{"RequestItems", items}}, what);
      if (r.error_type == "ResourceNotFoundException") return out;  // no state yet
      if (!r.status.ok()) return r.status;
      const json& responses = r.body.value("Responses", json::object());
      const auto found = responses.is_object() ? responses.find(table) : responses.end();
      if (found != responses.end() && found->is_array()) {
        for (const json& item : *found) {
          std::string key;
          StoredState state;
          if (!item.is_object() || !ParseBinary(item, "entity_id", &key) ||
              !ParseBinary(item, "state", &state.bytes) ||
              !ParseNumber(item.value("v", json()), &state.version)) {
            return Status::Corruption(Where() + ": table '" + table +
                                      "': an item has no binary entity_id and state, or no v");
          }
          out[std::move(key)] = std::move(state);
        }
      }
      const json& unprocessed = r.body.value("UnprocessedKeys", json::object());
      const auto left = unprocessed.is_object() ? unprocessed.find(table) : unprocessed.end();
      if (left == unprocessed.end() || !left->is_object() ||
          left->value("Keys", json::array()).empty()) {
        break;
      }
      if (attempt >= options_.max_retries) {
        return Error(what, "BatchGetItem: keys still unprocessed after " +
                               std::to_string(attempt + 1) + " attempts");
      }
      items = {{table, *left}};
      Backoff(attempt);
    }
  }
  return out;
}

Status DynamoDbOnlineStore::VisitStates(std::string_view view_name,
                                        std::span<const EntityKey> keys,
                                        const OnlineStateVisit& visit) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> bytes,
                          StateKeyBytes(view_name, keys, /*distinct=*/false));
  if (bytes.empty()) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(const std::string table, StatesTable(view_name));
  const std::string what = "read aggregation states of '" + std::string(view_name) +
                           "' (table '" + table + "')";
  LARDER_ASSIGN_OR_RETURN(auto stored, GetStates(table, bytes, what));
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto it = stored.find(bytes[i]);
    if (it != stored.end()) LARDER_RETURN_IF_ERROR(visit(i, it->second.bytes, /*version=*/0));
  }
  return Status::OK();
}

// Optimistic, as Redis's: read every state, merge every key (an error from
// a merge writes nothing), then write each changed state on the condition
// that its version is still the one read; a key that another writer changed
// meanwhile is read and merged again.
Status DynamoDbOnlineStore::UpdateStates(std::string_view view_name,
                                         std::span<const EntityKey> keys,
                                         const OnlineStateUpdate& update,
                                         const OnlineWriteOptions& /*options*/) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> bytes,
                          StateKeyBytes(view_name, keys, /*distinct=*/true));
  if (bytes.empty()) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(const std::string table, StatesTable(view_name));
  const std::string what = "update aggregation states of '" + std::string(view_name) +
                           "' (table '" + table + "')";
  std::vector<size_t> pending(bytes.size());
  std::iota(pending.begin(), pending.end(), 0);
  for (int attempt = 0; attempt < kStateAttempts && !pending.empty(); ++attempt) {
    if (attempt > 0) Backoff(std::min(attempt - 1, 2));
    std::vector<std::string> wanted;
    for (size_t i : pending) wanted.push_back(bytes[i]);
    LARDER_ASSIGN_OR_RETURN(auto stored, GetStates(table, wanted, what));
    std::vector<std::string> next(pending.size());
    std::vector<const StoredState*> old(pending.size(), nullptr);
    for (size_t j = 0; j < pending.size(); ++j) {
      auto it = stored.find(bytes[pending[j]]);
      if (it != stored.end()) old[j] = &it->second;
      LARDER_RETURN_IF_ERROR(
          update(pending[j], old[j] != nullptr ? &old[j]->bytes : nullptr, &next[j]));
    }
    std::vector<size_t> again;
    bool table_ready = false;
    for (size_t j = 0; j < pending.size(); ++j) {
      const bool unchanged = old[j] != nullptr ? next[j] == old[j]->bytes : next[j].empty();
      if (unchanged) continue;
      const json key = {{"B", Base64Encode(bytes[pending[j]])}};
      json request = {{"TableName", table}};
      if (old[j] != nullptr) {
        request["ConditionExpression"] = "v = :v";
        request["ExpressionAttributeValues"] = {{":v", {{"N", std::to_string(old[j]->version)}}}};
      } else {
        request["ConditionExpression"] = "attribute_not_exists(entity_id)";
      }
      const int64_t version = (old[j] != nullptr ? old[j]->version : 0) + 1;
      std::string op = "PutItem";
      if (next[j].empty()) {
        op = "DeleteItem";
        request["Key"] = {{"entity_id", key}};
      } else {
        request["Item"] = {{"entity_id", key},
                           {"state", {{"B", Base64Encode(next[j])}}},
                           {"v", {{"N", std::to_string(version)}}}};
      }
      Reply r = Call(op, request, what);
      if (r.error_type == "ResourceNotFoundException" && !table_ready) {
        LARDER_RETURN_IF_ERROR(EnsureTable(table, what));
        table_ready = true;
        r = Call(op, request, what);
      }
      if (r.error_type == "ConditionalCheckFailedException") {
        again.push_back(pending[j]);
        continue;
      }
      if (!r.status.ok()) return r.status;
    }
    pending = std::move(again);
  }
  if (!pending.empty()) {
    return Status::Busy(Where() + ": " + what + ": " + std::to_string(pending.size()) +
                        " states still changed by other writers after " +
                        std::to_string(kStateAttempts) + " attempts");
  }
  return Status::OK();
}

Status DynamoDbOnlineStore::DeleteProject() {
  const std::string what = "delete project '" + project_ + "'";
  std::vector<std::string> mine;
  std::string start;
  do {
    json request = {{"Limit", 100}};
    if (!start.empty()) request["ExclusiveStartTableName"] = start;
    Reply r = Call("ListTables", request, what);
    if (!r.status.ok()) return r.status;
    const json& names = r.body.value("TableNames", json::array());
    if (!names.is_array()) return Error(what, "ListTables: malformed TableNames");
    for (const json& name : names) {
      if (name.is_string() &&
          DynamoDbTableOfProject(options_.table_name_template, project_,
                                 name.get_ref<const std::string&>())) {
        mine.push_back(name.get<std::string>());
      }
    }
    auto last = r.body.find("LastEvaluatedTableName");
    start = last != r.body.end() && last->is_string() ? last->get<std::string>() : "";
  } while (!start.empty());
  return DeleteTables(mine, what);
}

}  // namespace

Result<DynamoDbOptions> ParseDynamoDbOptions(const std::map<std::string, std::string>& options) {
  static constexpr std::string_view kKeys[] = {"region",     "endpoint_url", "table_name_template",
                                               "batch_size", "concurrency",  "max_retries",
                                               "timeout_ms"};
  for (const auto& [key, value] : options) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return Status::InvalidArgument(
          "online_store." + key +
          ": not an option of the dynamodb online store (accepted: region, endpoint_url, "
          "table_name_template, batch_size, concurrency, max_retries, timeout_ms)");
    }
  }
  DynamoDbOptions o;
  o.region = EnvOr("AWS_REGION", EnvOr("AWS_DEFAULT_REGION", "us-east-1"));
  if (auto it = options.find("region"); it != options.end()) {
    if (it->second.empty() ||
        !std::all_of(it->second.begin(), it->second.end(),
                     [](char c) { return IsIdentifierChar(c) || c == '-'; })) {
      return Status::InvalidArgument("online_store.region: '" + it->second +
                                     "' is not a region name (like us-east-1)");
    }
    o.region = it->second;
  }
  if (auto it = options.find("endpoint_url"); it != options.end()) {
    o.endpoint_url = it->second;
    while (o.endpoint_url.ends_with("/")) o.endpoint_url.pop_back();
    auto url = ParseHttpUrl(o.endpoint_url);
    if (!url.ok()) return url.status().WithContext("online_store.endpoint_url");
  } else {
    o.endpoint_url = "https://dynamodb." + o.region + ".amazonaws.com";
  }
  if (auto it = options.find("table_name_template"); it != options.end()) {
    o.table_name_template = it->second;
  }
  LARDER_RETURN_IF_ERROR(CheckTemplate(o.table_name_template));
  LARDER_ASSIGN_OR_RETURN(int64_t batch_size, IntOption(options, "batch_size", 100, 1, 100));
  o.batch_size = static_cast<int>(batch_size);
  LARDER_ASSIGN_OR_RETURN(int64_t concurrency, IntOption(options, "concurrency", 4, 1, 64));
  o.concurrency = static_cast<int>(concurrency);
  LARDER_ASSIGN_OR_RETURN(int64_t max_retries, IntOption(options, "max_retries", 8, 0, 20));
  o.max_retries = static_cast<int>(max_retries);
  LARDER_ASSIGN_OR_RETURN(int64_t timeout_ms, IntOption(options, "timeout_ms", 30000, 1, 3600000));
  o.timeout_ms = static_cast<int>(timeout_ms);
  return o;
}

Result<std::string> DynamoDbTableName(std::string_view name_template, std::string_view project,
                                      std::string_view view) {
  std::string name = Substitute(name_template, project, view);
  if (name.size() < 3 || name.size() > 255 ||
      !std::all_of(name.begin(), name.end(), IsTableNameChar)) {
    return Status::InvalidArgument(
        "dynamodb online store: '" + name + "' (project '" + std::string(project) +
        "', feature view '" + std::string(view) +
        "') is not a valid DynamoDB table name: 3 to 255 characters of A-Z a-z 0-9 _ . -");
  }
  return name;
}

bool DynamoDbTableOfProject(std::string_view name_template, std::string_view project,
                            std::string_view table) {
  // A view's states table: its table name with kStatesSuffix after the view.
  const size_t v = name_template.find(kViewPlaceholder);
  if (v == std::string_view::npos) return false;
  const std::string prefix = Substitute(name_template.substr(0, v), project, "");
  const std::string suffix =
      Substitute(name_template.substr(v + kViewPlaceholder.size()), project, "");
  if (table.size() <= prefix.size() + suffix.size() || !table.starts_with(prefix) ||
      !table.ends_with(suffix)) {
    return false;
  }
  std::string_view view = table.substr(prefix.size(), table.size() - prefix.size() - suffix.size());
  if (view.ends_with(kStatesSuffix)) view.remove_suffix(kStatesSuffix.size());
  return IsIdentifier(view);
}

Result<std::unique_ptr<OnlineStore>> OpenDynamoDbOnlineStore(const OnlineStoreOptions& options) {
  LARDER_ASSIGN_OR_RETURN(DynamoDbOptions o, ParseDynamoDbOptions(options.config.options));
  AwsCredentials credentials{EnvOr("AWS_ACCESS_KEY_ID", ""), EnvOr("AWS_SECRET_ACCESS_KEY", ""),
                             EnvOr("AWS_SESSION_TOKEN", "")};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::FailedPrecondition(
        "dynamodb online store " + o.endpoint_url +
        ": no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
        "AWS_SESSION_TOKEN for temporary credentials); profiles and instance roles are not "
        "read");
  }
  LARDER_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(o.endpoint_url));
  // Table names are checked here so that a bad project fails Open.
  LARDER_RETURN_IF_ERROR(DynamoDbTableName(o.table_name_template, options.project, "v").status());
  return std::unique_ptr<OnlineStore>(new DynamoDbOnlineStore(
      options.project, std::move(o), std::move(credentials), std::move(url)));
}

}  // namespace larder::online
