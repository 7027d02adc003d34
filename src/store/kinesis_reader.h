// The StreamReader of a Kinesis source (docs/stream.md): this consumer's
// shards (those whose id hashes to shard_index modulo shard_count), each
// from its checkpoint, children after their parents are drained.
#pragma once

#include <memory>

#include "larder/stream.h"
#include "store/stream_reader.h"

namespace larder::stream_consumer {

Result<std::unique_ptr<StreamReader>> OpenKinesisReader(const DataSource& source,
                                                        CheckpointStore& checkpoints,
                                                        const StreamOptions& options);

}  // namespace larder::stream_consumer
