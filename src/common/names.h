// Rules for the names of projects and repo objects.
#pragma once

#include <string_view>

namespace larder {

// True for a non-empty name of ASCII letters, digits and underscores that
// does not start with a digit. Projects, entities, sources, views, services,
// models and features must be identifiers: they become table, key and
// column names.
bool IsIdentifier(std::string_view name);

// A Kinesis stream name: 1 to 128 of ASCII letters, digits, `_`, `.`, `-`.
bool IsKinesisStreamName(std::string_view name);

// A Kafka topic (or, as Larder accepts them, consumer group) name: 1 to 249
// of ASCII letters, digits, `_`, `.`, `-`, and not `.` or `..`.
bool IsKafkaName(std::string_view name);

// An http:// or https:// URL of a host (letters, digits, `.`, `-`, or a
// bracketed IPv6 address) and an optional port, with nothing after but an
// optional `/`.
bool IsHttpEndpoint(std::string_view url);

// Kafka brokers as `host:port[,host:port...]`: hosts of letters, digits,
// `.`, `-` (or a bracketed IPv6 address), ports 1..65535. The list reaches
// librdkafka's configuration, so nothing else is accepted.
bool IsKafkaBootstrapServers(std::string_view servers);

// An AWS region name: lower-case letters, digits and `-`, starting with a
// letter, at most 32 characters (us-east-1, eu-west-3, ...). Regions reach
// URLs and signatures, so nothing else is accepted.
bool IsAwsRegion(std::string_view name);

}  // namespace larder
