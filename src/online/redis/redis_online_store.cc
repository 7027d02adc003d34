#include "online/redis/redis_online_store.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "online/entity_key.h"
#include "online/record_codec.h"

namespace larder::online {
namespace {

constexpr int kConnectTimeoutMs = 2000;
constexpr int kCommandTimeoutMs = 30000;
// Records per script call: bounds how long one call blocks the server.
constexpr size_t kScriptBatch = 512;
// Keys per MGET: bounds one reply's size. All MGETs go in one pipeline.
constexpr size_t kMGetBatch = 4096;
constexpr size_t kScanCount = 1000;

// KEYS[i] gets ARGV[i] (a record of format version 2) if it supersedes the
// stored record: there is none, its header does not parse, its schema
// fingerprint differs, or the incoming (event_ts, created_ts, tie key) is
// greater. Version 2 stores the order-encoded triple at bytes 2..25 (1-based)
// and the fingerprint at 26..33; version 1 stores the pair at 2..17 and the
// fingerprint at 18..25, and loses to any record with an equal pair. The
// bytes are compared one by one with string.byte: Lua's `<` on strings uses
// strcoll, which follows the server's locale (Redis sets LC_COLLATE from the
// environment), not bytes. Returns {written, skipped}.
constexpr std::string_view kConditionalSetScript = R"lua(
local written, skipped = 0, 0
for i = 1, #KEYS do
  local new = ARGV[i]
  local cur = redis.call('GET', KEYS[i])
  local land = true
  local last, on_equal = 0, false
  if cur and #cur >= 33 and string.byte(cur, 1) == 2 and
      string.sub(cur, 26, 33) == string.sub(new, 26, 33) then
    last = 25
  elseif cur and #cur >= 25 and string.byte(cur, 1) == 1 and
      string.sub(cur, 18, 25) == string.sub(new, 26, 33) then
    last, on_equal = 17, true
  end
  if last > 0 then
    land = on_equal
    for j = 2, last do
      local a, b = string.byte(new, j), string.byte(cur, j)
      if a ~= b then
        land = a > b
        break
      end
    end
  end
  if land then
    redis.call('SET', KEYS[i], new)
    written = written + 1
  else
    skipped = skipped + 1
  end
end
return {written, skipped}
)lua";

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;
using Command = std::vector<std::string_view>;

Result<int> ParseInt(std::string_view key, std::string_view text, int lo, int hi) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return Status::InvalidArgument("online_store." + std::string(key) + ": '" +
                                   std::string(text) + "' is not an integer in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

Status ParseHostPort(std::string_view key, std::string_view text, RedisNode* node) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("online_store." + std::string(key) + ": '" +
                                   std::string(text) + "' is not host:port");
  }
  node->host = std::string(text.substr(0, colon));
  LARDER_ASSIGN_OR_RETURN(node->port, ParseInt(key, text.substr(colon + 1), 1, 65535));
  return Status::OK();
}

Status ParseConnectionString(std::string_view text, RedisEndpoint* ep) {
  constexpr std::string_view kKey = "connection_string";
  size_t pos = 0;
  bool first = true;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view part = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (first) {
      first = false;
      RedisNode node;
      LARDER_RETURN_IF_ERROR(ParseHostPort(kKey, part, &node));
      ep->host = node.host;
      ep->port = node.port;
      ep->cluster_nodes.push_back(std::move(node));
      continue;
    }
    const size_t eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
    if (eq != std::string_view::npos && name == "password") {
      ep->password = std::string(value);
    } else if (eq != std::string_view::npos && name == "db") {
      LARDER_ASSIGN_OR_RETURN(ep->db, ParseInt("connection_string db", value, 0, 1 << 20));
    } else if (part.find(':') != std::string_view::npos && eq == std::string_view::npos) {
      RedisNode node;  // several hosts: cluster seeds
      LARDER_RETURN_IF_ERROR(ParseHostPort(kKey, part, &node));
      ep->cluster_nodes.push_back(std::move(node));
    } else {
      return Status::InvalidArgument("online_store.connection_string: unknown parameter '" +
                                     std::string(part) + "' (accepted: password=..., db=N)");
    }
  }
  if (ep->cluster_nodes.size() < 2) ep->cluster_nodes.clear();
  return Status::OK();
}

constexpr int kSlots = 16384;
constexpr int kMaxAttempts = 6;

// CRC16-CCITT (XMODEM), as Redis Cluster uses for key slots.
uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char b : data) {
    crc = static_cast<uint16_t>(crc ^ (b << 8));
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

int RedisKeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kSlots;
}

namespace {

int KeySlot(std::string_view key) { return RedisKeySlot(key); }

std::string_view ErrorText(const redisReply* r) { return std::string_view(r->str, r->len); }
bool IsError(const redisReply* r, std::string_view prefix) {
  return r->type == REDIS_REPLY_ERROR && ErrorText(r).starts_with(prefix);
}

// One server: its address and a pool of idle connections.
// Compare-and-set of one aggregation state: KEYS[1] takes ARGV[2] (or is
// deleted when ARGV[2] is empty) only if its value's SHA-1 (hex) is ARGV[1],
// or, with ARGV[1] empty, if it does not exist. Returns 1 when it did, 0 when
// another writer changed the key meanwhile.
constexpr std::string_view kStateSwapScript = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  if redis.sha1hex(cur) ~= ARGV[1] then return 0 end
elseif ARGV[1] ~= '' then
  return 0
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
)lua";
// Rounds of read, merge and compare-and-set before an update of contended
// keys gives up.
constexpr int kStateAttempts = 16;

std::string Sha1Hex(std::string_view bytes) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 0xf];
  }
  return hex;
}

struct Node {
  std::string host;
  int port = 0;
  std::string address;  // host:port, for messages
  std::mutex mu;
  std::vector<ContextPtr> idle;  // guarded by mu
};

// A command and the slot of its keys (-1: any node, single-node mode only).
struct Routed {
  int slot = -1;
  Command cmd;
};

class RedisOnlineStore final : public OnlineStore {
 public:
  RedisOnlineStore(std::string project, RedisEndpoint ep)
      : project_(std::move(project)), ep_(std::move(ep)), cluster_(!ep_.cluster_nodes.empty()) {
    if (!cluster_) GetNode(ep_.host, ep_.port);
  }

  // Connects once (so a bad address or password fails Open), reads the slot
  // map in cluster mode, and loads the script.
  Status Init();

  std::string_view type() const override { return "redis"; }

  Result<OnlineWriteSummary> Write(const OnlineView& view, std::span<const OnlineRecord> records,
                                   const OnlineWriteOptions& options) override;
  Status MultiGetViews(std::span<const OnlineViewRead> reads) override;
  Status Delete(const OnlineView& view, std::span<const EntityKey> keys) override;
  Status DeleteView(std::string_view view_name) override {
    const std::string what = "delete feature view '" + std::string(view_name) + "'";
    LARDER_RETURN_IF_ERROR(DeletePrefix(ViewKeyPrefix(project_, view_name) + "{", what));
    return DeletePrefix(ViewKeyPrefix(project_, StateKeyspace(view_name)) + "{", what);
  }
  // Optimistic: read the states, merge, and compare-and-set each key by a
  // script; keys that another writer changed meanwhile go round again.
  bool SupportsStates() const override { return true; }
  Status UpdateStates(std::string_view view_name, std::span<const EntityKey> keys,
                      const OnlineStateUpdate& update, const OnlineWriteOptions& options) override;
  Status VisitStates(std::string_view view_name, std::span<const EntityKey> keys,
                     const OnlineStateVisit& visit) override;
  Status DeleteProject() override {
    return DeletePrefix(ProjectKeyPrefix(project_), "delete project '" + project_ + "'");
  }

 private:
  static Status Error(const Node& node, std::string_view what, std::string_view detail) {
    return Status::IOError("redis online store " + node.address + ": " + std::string(what) +
                           ": " + std::string(detail));
  }
  std::string Where() const;
  Node* GetNode(const std::string& host, int port);
  Result<ContextPtr> Connect(Node& node);
  Result<ContextPtr> Acquire(Node& node);
  void Release(Node& node, ContextPtr c);
  // Sends every command in one pipeline and reads one reply per command.
  // Only transport failures are errors; error replies come back as replies.
  // After an error the connection must be dropped.
  static Status Pipeline(const Node& node, redisContext* c, const std::vector<Command>& commands,
                         std::vector<ReplyPtr>* replies, std::string_view what);
  // Runs `commands`, each on the node serving its slot (one pipeline per
  // node), following MOVED (refreshing the slot map), ASK, TRYAGAIN and
  // NOSCRIPT (EVALSHA becomes EVAL). (*replies)[i] answers commands[i]; other
  // error replies are left for the caller.
  Status Execute(std::vector<Routed>& commands, std::vector<ReplyPtr>* replies,
                 std::string_view what);
  Status RefreshSlots();
  // IOError with the text of the first error reply, if any.
  Status FirstErrorReply(const std::vector<ReplyPtr>& replies, std::string_view what) const;
  std::vector<Node*> Masters();
  Status DeletePrefix(const std::string& prefix, const std::string& what);

  const std::string project_;
  const RedisEndpoint ep_;
  const bool cluster_;
  std::string script_sha_;  // set by Init, then read-only
  std::mutex topo_mu_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // by address; never erased
  std::vector<Node*> slot_owner_ = std::vector<Node*>(kSlots);  // guarded by topo_mu_
};

std::string RedisOnlineStore::Where() const {
  if (!cluster_) return ep_.host + ":" + std::to_string(ep_.port);
  std::string s = "cluster ";
  for (size_t i = 0; i < ep_.cluster_nodes.size(); ++i) {
    s += (i ? "," : "") + ep_.cluster_nodes[i].host + ":" +
         std::to_string(ep_.cluster_nodes[i].port);
  }
  return s;
}

Node* RedisOnlineStore::GetNode(const std::string& host, int port) {
  const std::string address = host + ":" + std::to_string(port);
  std::lock_guard lock(topo_mu_);
  std::unique_ptr<Node>& n = nodes_[address];
  if (n == nullptr) {
    n = std::make_unique<Node>();
    n->host = host;
    n->port = port;
    n->address = address;
  }
  return n.get();
}

Result<ContextPtr> RedisOnlineStore::Connect(Node& node) {
  timeval connect_tv{kConnectTimeoutMs / 1000, (kConnectTimeoutMs % 1000) * 1000};
  ContextPtr c(redisConnectWithTimeout(node.host.c_str(), node.port, connect_tv));
  if (c == nullptr) return Error(node, "cannot connect", "out of memory");
  if (c->err != 0) return Error(node, "cannot connect", c->errstr);
  timeval command_tv{kCommandTimeoutMs / 1000, (kCommandTimeoutMs % 1000) * 1000};
  if (redisSetTimeout(c.get(), command_tv) != REDIS_OK) {
    return Error(node, "cannot set the socket timeout", c->errstr);
  }
  std::vector<Command> setup;
  const std::string db = std::to_string(ep_.db);
  if (!ep_.password.empty()) setup.push_back({"AUTH", ep_.password});
  if (ep_.db != 0) setup.push_back({"SELECT", db});
  setup.push_back({"PING"});
  std::vector<ReplyPtr> replies;
  LARDER_RETURN_IF_ERROR(Pipeline(node, c.get(), setup, &replies, "connect"));
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i]->type == REDIS_REPLY_ERROR) {
      const std::string cmd(setup[i][0]);
      return Error(node, cmd == "PING" ? "connect" : cmd, ErrorText(replies[i].get()));
    }
  }
  return c;
}

Result<ContextPtr> RedisOnlineStore::Acquire(Node& node) {
  {
    std::lock_guard lock(node.mu);
    if (!node.idle.empty()) {
      ContextPtr c = std::move(node.idle.back());
      node.idle.pop_back();
      return c;
    }
  }
  return Connect(node);
}

void RedisOnlineStore::Release(Node& node, ContextPtr c) {
  std::lock_guard lock(node.mu);
  node.idle.push_back(std::move(c));
}

Status RedisOnlineStore::Pipeline(const Node& node, redisContext* c,
                                  const std::vector<Command>& commands,
                                  std::vector<ReplyPtr>* replies, std::string_view what) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const Command& cmd : commands) {
    argv.clear();
    argvlen.clear();
    for (std::string_view a : cmd) {
      argv.push_back(a.data());
      argvlen.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), argvlen.data()) !=
        REDIS_OK) {
      return Error(node, what, c->errstr);
    }
  }
  replies->clear();
  replies->reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
      return Error(node, what, c->err != 0 ? c->errstr : "no reply");
    }
    replies->emplace_back(static_cast<redisReply*>(raw));
  }
  return Status::OK();
}

Status RedisOnlineStore::RefreshSlots() {
  std::vector<Node*> candidates;
  for (const RedisNode& seed : ep_.cluster_nodes) {
    candidates.push_back(GetNode(seed.host, seed.port));
  }
  for (Node* n : Masters()) candidates.push_back(n);
  Status last = Status::IOError("redis online store " + Where() + ": no node to ask");
  for (Node* node : candidates) {
    auto c = Acquire(*node);
    if (!c.ok()) {
      last = c.status();
      continue;
    }
    std::vector<ReplyPtr> replies;
    Status s = Pipeline(*node, c->get(), {{"CLUSTER", "SLOTS"}}, &replies, "CLUSTER SLOTS");
    if (!s.ok()) {
      last = s;
      continue;
    }
    Release(*node, std::move(*c));
    const redisReply* r = replies[0].get();
    if (r->type != REDIS_REPLY_ARRAY) {
      last = Error(*node, "CLUSTER SLOTS",
                   r->type == REDIS_REPLY_ERROR ? ErrorText(r) : "unexpected reply");
      continue;
    }
    std::vector<Node*> owners(kSlots);
    for (size_t i = 0; i < r->elements; ++i) {
      const redisReply* range = r->element[i];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
          range->element[0]->type != REDIS_REPLY_INTEGER ||
          range->element[1]->type != REDIS_REPLY_INTEGER ||
          range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2 ||
          range->element[2]->element[0]->type != REDIS_REPLY_STRING ||
          range->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
        return Error(*node, "CLUSTER SLOTS", "unexpected reply");
      }
      const redisReply* master = range->element[2];
      std::string host(master->element[0]->str, master->element[0]->len);
      if (host.empty() || host == "?") host = node->host;  // "unknown": the node we asked
      Node* owner = GetNode(host, static_cast<int>(master->element[1]->integer));
      const long long lo = std::max(0LL, range->element[0]->integer);
      const long long hi = std::min<long long>(kSlots - 1, range->element[1]->integer);
      for (long long slot = lo; slot <= hi; ++slot) owners[static_cast<size_t>(slot)] = owner;
    }
    std::lock_guard lock(topo_mu_);
    slot_owner_ = std::move(owners);
    return Status::OK();
  }
  return last;
}

std::vector<Node*> RedisOnlineStore::Masters() {
  std::lock_guard lock(topo_mu_);
  std::vector<Node*> out;
  if (!cluster_) {
    out.push_back(nodes_.begin()->second.get());
    return out;
  }
  for (Node* n : slot_owner_) {
    if (n != nullptr && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

Status RedisOnlineStore::Execute(std::vector<Routed>& commands, std::vector<ReplyPtr>* replies,
                                 std::string_view what) {
  replies->clear();
  replies->resize(commands.size());
  std::vector<size_t> pending(commands.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  std::map<size_t, Node*> ask;  // command -> node named by an ASK redirect
  for (int attempt = 0; attempt < kMaxAttempts && !pending.empty(); ++attempt) {
    // Route each pending command; keep command order within a node.
    std::vector<std::pair<Node*, std::vector<size_t>>> by_node;
    {
      std::lock_guard lock(topo_mu_);
      for (size_t i : pending) {
        Node* node = nullptr;
        if (auto it = ask.find(i); it != ask.end()) {
          node = it->second;
        } else if (!cluster_) {
          node = nodes_.begin()->second.get();
        } else {
          node = slot_owner_[static_cast<size_t>(commands[i].slot)];
          if (node == nullptr) {
            return Status::IOError("redis online store " + Where() + ": " + std::string(what) +
                                   ": slot " + std::to_string(commands[i].slot) +
                                   " is not served by any node");
          }
        }
        auto it = std::find_if(by_node.begin(), by_node.end(),
                               [&](const auto& p) { return p.first == node; });
        if (it == by_node.end()) {
          by_node.push_back({node, {}});
          it = by_node.end() - 1;
        }
        it->second.push_back(i);
      }
    }
    std::vector<size_t> next;
    std::map<size_t, Node*> next_ask;
    bool refresh = false;
    for (auto& [node, indices] : by_node) {
      std::vector<Command> batch;
      std::vector<bool> is_asking;  // batch entry is an ASKING prefix
      for (size_t i : indices) {
        if (ask.count(i) != 0) {
          batch.push_back({"ASKING"});
          is_asking.push_back(true);
        }
        batch.push_back(commands[i].cmd);
        is_asking.push_back(false);
      }
      auto c = Acquire(*node);
      std::vector<ReplyPtr> got;
      Status sent = c.ok() ? Pipeline(*node, c->get(), batch, &got, what) : c.status();
      if (!sent.ok()) {
        // A master that went away may have failed over: read the slot map
        // again so that the next call goes to the new master.
        if (cluster_) (void)RefreshSlots();
        return sent;
      }
      Release(*node, std::move(*c));
      size_t k = 0;
      for (size_t j = 0; j < batch.size(); ++j) {
        if (is_asking[j]) continue;
        const size_t i = indices[k++];
        ReplyPtr& r = got[j];
        if (IsError(r.get(), "MOVED ")) {
          refresh = true;
          next.push_back(i);
        } else if (IsError(r.get(), "ASK ")) {
          // "ASK <slot> <host>:<port>"
          const std::string_view text = ErrorText(r.get());
          const size_t sp = text.rfind(' ');
          RedisNode target;
          if (sp == std::string_view::npos ||
              !ParseHostPort("ASK", text.substr(sp + 1), &target).ok()) {
            return Error(*node, what, text);
          }
          next_ask[i] = GetNode(target.host, target.port);
          next.push_back(i);
        } else if (IsError(r.get(), "TRYAGAIN") || IsError(r.get(), "CLUSTERDOWN")) {
          next.push_back(i);
        } else if (IsError(r.get(), "NOSCRIPT") && commands[i].cmd[0] == "EVALSHA") {
          // The node's script cache is empty (flushed, restarted, new node).
          commands[i].cmd[0] = "EVAL";
          commands[i].cmd[1] = kConditionalSetScript;
          next.push_back(i);
        } else {
          (*replies)[i] = std::move(r);
        }
      }
    }
    // Keep the original order for the retries (batch order within a slot).
    std::sort(next.begin(), next.end());
    pending = std::move(next);
    ask = std::move(next_ask);
    if (!pending.empty() && attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    }
    if (refresh) LARDER_RETURN_IF_ERROR(RefreshSlots());
  }
  if (!pending.empty()) {
    return Status::IOError("redis online store " + Where() + ": " + std::string(what) +
                           ": still redirected after " + std::to_string(kMaxAttempts) +
                           " attempts");
  }
  return Status::OK();
}

Status RedisOnlineStore::Init() {
  if (cluster_) LARDER_RETURN_IF_ERROR(RefreshSlots());
  std::vector<Node*> masters = Masters();
  if (masters.empty()) {
    return Status::IOError("redis online store " + Where() + ": the cluster serves no slots");
  }
  for (Node* node : masters) {
    LARDER_ASSIGN_OR_RETURN(ContextPtr c, Acquire(*node));
    std::vector<ReplyPtr> replies;
    LARDER_RETURN_IF_ERROR(Pipeline(*node, c.get(), {{"SCRIPT", "LOAD", kConditionalSetScript}},
                                    &replies, "load the conditional-write script"));
    const redisReply* r = replies[0].get();
    if (r->type != REDIS_REPLY_STRING) {
      return Error(*node, "load the conditional-write script",
                   r->type == REDIS_REPLY_ERROR ? ErrorText(r) : "unexpected reply");
    }
    script_sha_.assign(r->str, r->len);
    Release(*node, std::move(c));
  }
  return Status::OK();
}

Result<OnlineWriteSummary> RedisOnlineStore::Write(const OnlineView& view,
                                                   std::span<const OnlineRecord> records,
                                                   const OnlineWriteOptions& /*options*/) {
  OnlineWriteSummary summary;
  const size_t n = records.size();
  if (n == 0) return summary;

  // 1. Check and encode the whole batch before sending anything.
  const std::string prefix = ViewKeyPrefix(project_, view.name()) + "{";
  std::vector<std::string> keys(n);
  std::vector<std::string> values(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i] = prefix;
    Status s = EncodeEntityKey(records[i].entity_key, &keys[i]);
    if (s.ok()) s = EncodeRecord(view, records[i], &values[i]);
    if (!s.ok()) {
      return s.WithContext("feature view '" + view.name() + "': record " + std::to_string(i));
    }
    keys[i] += '}';
  }

  // 2. Group by slot in cluster mode (a script's keys must share one), keeping
  // batch order within a slot; then chunks of at most kScriptBatch records.
  // Redis runs a connection's commands in order, so batch order holds across
  // chunks.
  std::map<int, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[cluster_ ? KeySlot(keys[i]) : -1].push_back(i);
  std::vector<Routed> commands;
  std::vector<std::string> numkeys;
  numkeys.reserve(n / kScriptBatch + groups.size() + 1);  // no reallocation: views point in
  for (const auto& [slot, members] : groups) {
    for (size_t b = 0; b < members.size(); b += kScriptBatch) {
      const size_t e = std::min(members.size(), b + kScriptBatch);
      numkeys.push_back(std::to_string(e - b));
      Routed r;
      r.slot = slot;
      r.cmd.reserve(3 + 2 * (e - b));
      r.cmd.push_back("EVALSHA");
      r.cmd.push_back(script_sha_);
      r.cmd.push_back(numkeys.back());
      for (size_t k = b; k < e; ++k) r.cmd.push_back(keys[members[k]]);
      for (size_t k = b; k < e; ++k) r.cmd.push_back(values[members[k]]);
      commands.push_back(std::move(r));
    }
  }
  const std::string what = "write feature view '" + view.name() + "'";
  std::vector<ReplyPtr> replies;
  LARDER_RETURN_IF_ERROR(Execute(commands, &replies, what));
  LARDER_RETURN_IF_ERROR(FirstErrorReply(replies, what));
  for (const ReplyPtr& r : replies) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
      return Status::IOError("redis online store " + Where() + ": " + what +
                             ": unexpected reply to the conditional-write script");
    }
    summary.written += r->element[0]->integer;
    summary.skipped += r->element[1]->integer;
  }
  return summary;
}

Status RedisOnlineStore::MultiGetViews(std::span<const OnlineViewRead> reads) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeReadKeys(project_, reads, /*hash_tag=*/true));
  const size_t total = encoded.size();
  if (total == 0) return Status::OK();
  // One MGET per slot (cluster) or per kMGetBatch keys; `where[k]` is the
  // (command, position) that answers key k.
  std::map<int, std::vector<size_t>> groups;
  for (size_t i = 0; i < total; ++i) groups[cluster_ ? KeySlot(encoded[i]) : -1].push_back(i);
  std::vector<Routed> commands;
  std::vector<std::pair<size_t, size_t>> where(total);
  for (const auto& [slot, members] : groups) {
    for (size_t b = 0; b < members.size(); b += kMGetBatch) {
      Routed r;
      r.slot = slot;
      r.cmd.push_back("MGET");
      for (size_t j = b; j < std::min(members.size(), b + kMGetBatch); ++j) {
        where[members[j]] = {commands.size(), r.cmd.size() - 1};
        r.cmd.push_back(encoded[members[j]]);
      }
      commands.push_back(std::move(r));
    }
  }
  const std::string what = "read";
  std::vector<ReplyPtr> replies;
  LARDER_RETURN_IF_ERROR(Execute(commands, &replies, what));
  for (size_t j = 0; j < replies.size(); ++j) {
    const redisReply* r = replies[j].get();
    if (r->type == REDIS_REPLY_ERROR) {
      return Status::IOError("redis online store " + Where() + ": read: " +
                             std::string(ErrorText(r)));
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != commands[j].cmd.size() - 1) {
      return Status::IOError("redis online store " + Where() + ": read: unexpected reply to MGET");
    }
  }
  size_t k = 0;
  for (const OnlineViewRead& r : reads) {
    for (size_t i = 0; i < r.keys.size(); ++i, ++k) {
      const redisReply* v = replies[where[k].first]->element[where[k].second];
      if (v->type == REDIS_REPLY_NIL) continue;  // state stays kNotFound
      if (v->type != REDIS_REPLY_STRING) {
        return Status::IOError("redis online store " + Where() + ": read feature view '" +
                               r.view->name() + "': a record is not a string");
      }
      Status s = DecodeRecord(*r.view, std::string_view(v->str, v->len), &(*r.results)[i]);
      if (!s.ok()) {
        return s.WithContext("redis online store " + Where() + ": feature view '" +
                             r.view->name() + "': entity key " + std::to_string(i));
      }
    }
  }
  return Status::OK();
}

// UNLINK of the keys, one command per slot (cluster) or per kMGetBatch keys,
// all in one pipeline per node.
Status RedisOnlineStore::Delete(const OnlineView& view, std::span<const EntityKey> keys) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeViewKeys(project_, view, keys, /*hash_tag=*/true));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> states,
                          EncodeStateKeys(project_, view.name(), keys, /*hash_tag=*/true, false));
  encoded.insert(encoded.end(), std::make_move_iterator(states.begin()),
                 std::make_move_iterator(states.end()));
  std::map<int, std::vector<size_t>> groups;
  for (size_t i = 0; i < encoded.size(); ++i) {
    groups[cluster_ ? KeySlot(encoded[i]) : -1].push_back(i);
  }
  std::vector<Routed> commands;
  for (const auto& [slot, members] : groups) {
    for (size_t b = 0; b < members.size(); b += kMGetBatch) {
      Routed r;
      r.slot = slot;
      r.cmd.push_back("UNLINK");
      for (size_t j = b; j < std::min(members.size(), b + kMGetBatch); ++j) {
        r.cmd.push_back(encoded[members[j]]);
      }
      commands.push_back(std::move(r));
    }
  }
  if (commands.empty()) return Status::OK();
  const std::string what = "delete from feature view '" + view.name() + "'";
  std::vector<ReplyPtr> replies;
  LARDER_RETURN_IF_ERROR(Execute(commands, &replies, what));
  return FirstErrorReply(replies, what);
}

Status RedisOnlineStore::VisitStates(std::string_view view_name, std::span<const EntityKey> keys,
                                     const OnlineStateVisit& visit) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeStateKeys(project_, view_name, keys, /*hash_tag=*/true, false));
  std::vector<Routed> commands;
  for (const std::string& key : encoded) commands.push_back({cluster_ ? KeySlot(key) : -1, {"GET", key}});
  if (commands.empty()) return Status::OK();
  const std::string what = "read aggregation states of '" + std::string(view_name) + "'";
  std::vector<ReplyPtr> replies;
  LARDER_RETURN_IF_ERROR(Execute(commands, &replies, what));
  LARDER_RETURN_IF_ERROR(FirstErrorReply(replies, what));
  for (size_t i = 0; i < replies.size(); ++i) {
    const redisReply* r = replies[i].get();
    if (r->type == REDIS_REPLY_NIL) continue;
    if (r->type != REDIS_REPLY_STRING) {
      return Status::IOError("redis online store " + Where() + ": " + what + ": not a string");
    }
    LARDER_RETURN_IF_ERROR(visit(i, std::string_view(r->str, r->len), /*version=*/0));
  }
  return Status::OK();
}

Status RedisOnlineStore::UpdateStates(std::string_view view_name, std::span<const EntityKey> keys,
                                      const OnlineStateUpdate& update,
                                      const OnlineWriteOptions& /*options*/) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeStateKeys(project_, view_name, keys, /*hash_tag=*/true, true));
  const std::string what = "update aggregation states of '" + std::string(view_name) + "'";
  std::vector<size_t> pending(encoded.size());
  std::iota(pending.begin(), pending.end(), 0);
  for (int attempt = 0; attempt < kStateAttempts && !pending.empty(); ++attempt) {
    std::vector<Routed> reads;
    for (size_t i : pending) {
      reads.push_back({cluster_ ? KeySlot(encoded[i]) : -1, {"GET", encoded[i]}});
    }
    std::vector<ReplyPtr> stored;
    LARDER_RETURN_IF_ERROR(Execute(reads, &stored, what));
    LARDER_RETURN_IF_ERROR(FirstErrorReply(stored, what));
    // Every merge first: an error from one writes nothing.
    std::vector<std::string> expected(pending.size()), next(pending.size());
    std::vector<bool> unchanged(pending.size(), false);
    std::string old;
    for (size_t j = 0; j < pending.size(); ++j) {
      const redisReply* r = stored[j].get();
      const bool found = r->type == REDIS_REPLY_STRING;
      if (found) {
        old.assign(r->str, r->len);
        expected[j] = Sha1Hex(old);
      }
      LARDER_RETURN_IF_ERROR(update(pending[j], found ? &old : nullptr, &next[j]));
      unchanged[j] = found ? next[j] == old : next[j].empty();
    }
    std::vector<Routed> swaps;
    std::vector<size_t> swapped;  // into pending
    for (size_t j = 0; j < pending.size(); ++j) {
      if (unchanged[j]) continue;
      const std::string& key = encoded[pending[j]];
      swaps.push_back({cluster_ ? KeySlot(key) : -1,
                       {"EVAL", kStateSwapScript, "1", key, expected[j], next[j]}});
      swapped.push_back(j);
    }
    std::vector<size_t> again;
    if (!swaps.empty()) {
      std::vector<ReplyPtr> replies;
      LARDER_RETURN_IF_ERROR(Execute(swaps, &replies, what));
      LARDER_RETURN_IF_ERROR(FirstErrorReply(replies, what));
      for (size_t k = 0; k < replies.size(); ++k) {
        if (replies[k]->type != REDIS_REPLY_INTEGER) {
          return Status::IOError("redis online store " + Where() + ": " + what +
                                 ": unexpected reply to the state swap");
        }
        if (replies[k]->integer == 0) again.push_back(pending[swapped[k]]);
      }
    }
    pending = std::move(again);
    if (!pending.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1 << std::min(attempt, 6)));
  }
  if (!pending.empty()) {
    return Status::Busy("redis online store " + Where() + ": " + what + ": " +
                        std::to_string(pending.size()) + " key(s) kept changing under " +
                        std::to_string(kStateAttempts) + " attempts; retry");
  }
  return Status::OK();
}

Status RedisOnlineStore::FirstErrorReply(const std::vector<ReplyPtr>& replies,
                                         std::string_view what) const {
  for (const ReplyPtr& r : replies) {
    if (r->type == REDIS_REPLY_ERROR) {
      return Status::IOError("redis online store " + Where() + ": " + std::string(what) + ": " +
                             std::string(ErrorText(r.get())));
    }
  }
  return Status::OK();
}

Status RedisOnlineStore::DeletePrefix(const std::string& prefix, const std::string& what) {
  // A SCAN pattern matching exactly the keys that start with `prefix`: every
  // byte that is special to Redis' glob matcher is escaped.
  std::string pattern;
  for (char ch : prefix) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') pattern += '\\';
    pattern += ch;
  }
  pattern += '*';
  const std::string count = std::to_string(kScanCount);
  for (Node* node : Masters()) {
    LARDER_ASSIGN_OR_RETURN(ContextPtr c, Acquire(*node));
    std::string cursor = "0";
    do {
      std::vector<ReplyPtr> replies;
      LARDER_RETURN_IF_ERROR(Pipeline(*node, c.get(),
                                      {{"SCAN", cursor, "MATCH", pattern, "COUNT", count}},
                                      &replies, what));
      const redisReply* r = replies[0].get();
      if (r->type == REDIS_REPLY_ERROR) return Error(*node, what, ErrorText(r));
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        return Error(*node, what, "unexpected reply to SCAN");
      }
      cursor.assign(r->element[0]->str, r->element[0]->len);
      const redisReply* found = r->element[1];
      if (found->elements == 0) continue;
      // UNLINK's keys must share a slot in a cluster: one command per key there.
      std::vector<Routed> dels;
      for (size_t i = 0; i < found->elements; ++i) {
        const std::string_view key(found->element[i]->str, found->element[i]->len);
        if (cluster_ || dels.empty()) dels.push_back({cluster_ ? KeySlot(key) : -1, {"UNLINK"}});
        dels.back().cmd.push_back(key);
      }
      std::vector<ReplyPtr> deleted;
      LARDER_RETURN_IF_ERROR(Execute(dels, &deleted, what));
      for (const ReplyPtr& d : deleted) {
        if (d->type == REDIS_REPLY_ERROR) return Error(*node, what, ErrorText(d.get()));
      }
    } while (cursor != "0");
    Release(*node, std::move(c));
  }
  return Status::OK();
}

}  // namespace

Result<RedisEndpoint> ParseRedisOptions(const std::map<std::string, std::string>& options) {
  RedisEndpoint ep;
  for (const auto& [key, value] : options) {
    if (key != "connection_string" && key != "host" && key != "port" && key != "password" &&
        key != "db" && key != "cluster_nodes") {
      return Status::InvalidArgument(
          "online_store." + key +
          ": not an option of the redis online store (accepted: connection_string, host, port, "
          "password, db, cluster_nodes)");
    }
  }
  if (auto cs = options.find("connection_string"); cs != options.end()) {
    for (const char* other : {"host", "port", "password", "db", "cluster_nodes"}) {
      if (options.count(other) != 0) {
        return Status::InvalidArgument(std::string("online_store.connection_string: cannot be "
                                                   "combined with online_store.") +
                                       other);
      }
    }
    LARDER_RETURN_IF_ERROR(ParseConnectionString(cs->second, &ep));
  } else {
    if (auto it = options.find("host"); it != options.end()) {
      if (it->second.empty()) return Status::InvalidArgument("online_store.host: empty");
      ep.host = it->second;
    }
    if (auto it = options.find("port"); it != options.end()) {
      LARDER_ASSIGN_OR_RETURN(ep.port, ParseInt("port", it->second, 1, 65535));
    }
    if (auto it = options.find("password"); it != options.end()) ep.password = it->second;
    if (auto it = options.find("db"); it != options.end()) {
      LARDER_ASSIGN_OR_RETURN(ep.db, ParseInt("db", it->second, 0, 1 << 20));
    }
    if (auto it = options.find("cluster_nodes"); it != options.end()) {
      if (options.count("host") != 0 || options.count("port") != 0) {
        return Status::InvalidArgument(
            "online_store.cluster_nodes: cannot be combined with online_store.host/port");
      }
      std::string_view text = it->second;
      while (!text.empty()) {
        const size_t comma = std::min(text.find(','), text.size());
        std::string_view part = text.substr(0, comma);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        RedisNode node;
        LARDER_RETURN_IF_ERROR(ParseHostPort("cluster_nodes", part, &node));
        ep.cluster_nodes.push_back(std::move(node));
        text.remove_prefix(std::min(text.size(), comma + 1));
      }
      if (ep.cluster_nodes.empty()) {
        return Status::InvalidArgument("online_store.cluster_nodes: no host:port given");
      }
    }
  }
  if (!ep.cluster_nodes.empty() && ep.db != 0) {
    return Status::InvalidArgument(
        "online_store.db: a Redis cluster has only database 0 (cluster mode is on)");
  }
  return ep;
}

Result<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const OnlineStoreOptions& options) {
  LARDER_ASSIGN_OR_RETURN(RedisEndpoint ep, ParseRedisOptions(options.config.options));
  auto store = std::make_unique<RedisOnlineStore>(options.project, std::move(ep));
  LARDER_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<OnlineStore>(std::move(store));
}

}  // namespace larder::online
