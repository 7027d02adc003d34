// An ArrowArrayStream over Arrow IPC streams pulled one at a time from a
// producer (Spark Connect's result batches, say), decoded lazily.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "larder/offline_store.h"
#include "larder/status.h"

namespace larder::offline::arrow_ipc {

// Gives the next complete IPC stream (one chunk), nullopt after the last, or
// an error that ends the stream.
using IpcChunkSource = std::function<Result<std::optional<std::string>>()>;

// Returns an ArrowArrayStream whose get_schema and get_next pull chunks from
// `next_chunk` only as they need them and decode them with an
// IpcStreamDecoder, so at most one chunk's batches are held at a time.
// get_schema needs the first chunk (every chunk carries the schema); a
// producer that ends before any chunk makes get_schema fail. get_next gives
// the batches in order, each a struct array ("+s", one child per column),
// and a released array (release == nullptr) at the end. A failure of the
// producer or of decoding makes get_schema/get_next return EIO (and every
// later call too) and get_last_error return the Status's message. The
// caller owns the stream and must call its release, which frees everything
// and destroys `next_chunk`; arrays and schemas handed out stay valid until
// their own release. An exception thrown by `next_chunk` is caught and
// reported as an error.
//
// Thread safety: as the C stream interface says, one call at a time.
ArrowArrayStream MakeArrowStream(IpcChunkSource next_chunk);

}  // namespace larder::offline::arrow_ipc
