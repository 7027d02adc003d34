// The `redis` online store: a Redis server or a Redis Cluster, spoken to
// with hiredis.
//
// Options (online_store: in feature_store.yaml; declared in
// src/repo/config_keys.cc):
//   host               server host. Default: 127.0.0.1.
//   port               server port, 1..65535. Default: 6379.
//   password           sent with AUTH after connecting. Default: none.
//   db                 database number, sent with SELECT. Default: 0.
//   connection_string  Feast style "host:port[,password=...][,db=N]"; an
//                      alternative to the four above (not combinable with
//                      them). For a password containing ',' use the keys above.
//                      Several host:port entries mean a cluster (seeds).
//   cluster_nodes      "host:port,host:port,...": cluster mode with these
//                      seed nodes (db must be 0; password applies to all).
// None can change while the store is open.
//
// Layout (docs/online-store.md#the-redis-backend): one Redis string per
// record. Its key is the record key of online/entity_key.h with the entity
// key bytes wrapped in a hash tag:
//   0x01 | varint len, project | varint len, view | '{' entity key bytes '}'
// Its value is the record of online/record_codec.h.
//
// Conditional writes run on the server, in one Lua script call (EVALSHA) per
// batch of up to 512 records (longer batches are split and pipelined), so the
// check and the SET are atomic. Reads are one MGET over every key of every
// view: one round trip per MultiGet or MultiGetViews. In cluster mode the
// slot map comes from CLUSTER SLOTS; keys are grouped by slot (one script call
// or MGET per slot, pipelined per node), MOVED refreshes the map and retries,
// ASK retries once on the named node after ASKING. Deleting a view or a
// project SCANs for its key prefix and UNLINKs what it finds.
//
// Thread safety: connections come from a pool; each call uses one connection
// for its whole duration. Errors are IOError naming host:port.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/online_store.h"

namespace larder::online {

struct RedisNode {
  std::string host;
  int port = 0;
};

// Where a redis online store connects.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // empty: no AUTH
  int db = 0;
  // Non-empty: cluster mode, with these seed nodes (host/port are unused).
  std::vector<RedisNode> cluster_nodes;
};

// Parses the `online_store:` options of the redis type. InvalidArgument
// naming `online_store.<key>` for an unknown key, a bad number, a malformed
// connection_string, or connection_string given together with host, port,
// password or db.
[[nodiscard]] Result<RedisEndpoint> ParseRedisOptions(
    const std::map<std::string, std::string>& options);

// The Redis Cluster slot (0..16383) of `key`: CRC16 of the part between the
// first '{' and the next '}' when that part is non-empty, else of the key.
int RedisKeySlot(std::string_view key);

[[nodiscard]] Result<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(
    const OnlineStoreOptions& options);

}  // namespace larder::online
