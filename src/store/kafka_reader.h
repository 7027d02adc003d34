// The StreamReader of a Kafka source (docs/stream.md): the partitions that
// the source's consumer group gives this consumer, each from its checkpoint
// in the offline store (the group's committed offsets are written too, for
// Kafka's own lag tools, but never read).
#pragma once

#include <memory>

#include "larder/stream.h"
#include "store/stream_reader.h"

namespace larder::stream_consumer {

Result<std::unique_ptr<StreamReader>> OpenKafkaReader(const DataSource& source,
                                                      CheckpointStore& checkpoints,
                                                      const StreamOptions& options);

}  // namespace larder::stream_consumer
