// The `dynamodb` online store: Amazon DynamoDB, or a server speaking its
// JSON API (DynamoDB Local, dynalite), over HTTP with SigV4 signing.
//
// Options (online_store: in feature_store.yaml; declared in
// src/repo/config_keys.cc):
//   region               AWS region. Default: $AWS_REGION, else
//                        $AWS_DEFAULT_REGION, else us-east-1.
//   endpoint_url         http(s)://host[:port] of the server. Default:
//                        https://dynamodb.<region>.amazonaws.com. TLS
//                        trusts the system's CAs, or $AWS_CA_BUNDLE's.
//   table_name_template  Default: {project}.{table_name} (as Feast), where
//                        table_name is the view name. Must hold both
//                        placeholders, separated by a character that is not
//                        a letter, digit or underscore (so that project "a"
//                        never claims tables of project "a_b").
//   batch_size           keys per BatchGetItem, 1..100. Default: 100.
//   concurrency          parallel requests per call: PutItems of a Write,
//                        BatchGetItems of a read, 1..64. Default: 4.
//   max_retries          retries of a throttled, failed (5xx) or unreachable
//                        request, 0..20, with exponential backoff. Default: 8.
//   timeout_ms           connect and read timeout of one attempt, in ms.
//                        Default: 30000.
// Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for
// temporary credentials, AWS_SESSION_TOKEN; Open fails when they are
// missing. None of this can change while the store is open.
//
// Layout (docs/online-store.md#the-dynamodb-backend): one table per (project,
// view), created on the first write (PAY_PER_REQUEST, hash key `entity_id` of
// type B). One item per entity: entity_id (the entity key bytes of
// online/entity_key.h), event_ts (N), created_ts (N), fingerprint (N, the
// view's schema fingerprint) and record (B, online/record_codec.h).
//
// Writes are one conditional PutItem per distinct entity key of the batch
// (the newest record of the key; the others are counted without being sent),
// `concurrency` at a time. Reads are BatchGetItem calls of up to batch_size
// keys over every requested view, with ConsistentRead, `concurrency` at a
// time.
//
// Thread safety: every method may be called from many threads; HTTP
// connections are pooled. Errors are IOError naming the endpoint, and the
// DynamoDB error type and message when the server answered.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "larder/online_store.h"

namespace larder::online {

// The parsed options of a dynamodb online store.
struct DynamoDbOptions {
  std::string region = "us-east-1";
  std::string endpoint_url;  // always set by ParseDynamoDbOptions
  std::string table_name_template = "{project}.{table_name}";
  int batch_size = 100;
  int concurrency = 4;
  int max_retries = 8;
  int timeout_ms = 30000;
};

// Parses the `online_store:` options of the dynamodb type (and the region
// variables of the environment). InvalidArgument naming
// `online_store.<key>` for an unknown key, a number out of range, a bad
// template, or an endpoint that is not http://host[:port].
[[nodiscard]] Result<DynamoDbOptions> ParseDynamoDbOptions(
    const std::map<std::string, std::string>& options);

// The table of `view` in `project`: the template with both placeholders
// replaced. InvalidArgument when the result is not a valid DynamoDB table
// name (3..255 characters of A-Z a-z 0-9 _ . -).
[[nodiscard]] Result<std::string> DynamoDbTableName(std::string_view name_template,
                                                    std::string_view project,
                                                    std::string_view view);

// Whether `table` is the table of some view of `project` under the template:
// the template's text around {table_name} matches and the middle is a view
// name (letters, digits, underscores).
bool DynamoDbTableOfProject(std::string_view name_template, std::string_view project,
                            std::string_view table);

[[nodiscard]] Result<std::unique_ptr<OnlineStore>> OpenDynamoDbOnlineStore(
    const OnlineStoreOptions& options);

}  // namespace larder::online
