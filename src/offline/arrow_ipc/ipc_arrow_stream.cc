#include "offline/arrow_ipc/ipc_arrow_stream.h"

#include <cerrno>
#include <exception>
#include <utility>

#include "offline/arrow_ipc/ipc_stream_decoder.h"

namespace larder::offline::arrow_ipc {
namespace {

struct StreamPrivate {
  IpcChunkSource next_chunk;
  IpcStreamDecoder decoder;
  bool producer_done = false;
  Status error;            // sticky: once set, every call fails
  std::string last_error;  // error's message, for get_last_error
};

StreamPrivate* Private(ArrowArrayStream* s) { return static_cast<StreamPrivate*>(s->private_data); }

int Fail(StreamPrivate* p, Status s) {
  p->error = std::move(s);
  p->last_error = p->error.message();
  return EIO;
}

// Pulls and decodes one more chunk; sets producer_done at the end.
Status PullChunk(StreamPrivate* p) {
  Result<std::optional<std::string>> chunk = Status::Internal("arrow ipc: no chunk");
  try {
    chunk = p->next_chunk();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("arrow ipc: the producer of IPC streams threw: ") +
                            e.what());
  } catch (...) {
    return Status::Internal("arrow ipc: the producer of IPC streams threw");
  }
  if (!chunk.ok()) return chunk.status();
  if (!chunk->has_value()) {
    p->producer_done = true;
    return Status::OK();
  }
  return p->decoder.Append(**chunk);
}

int GetSchema(ArrowArrayStream* stream, ArrowSchema* out) {
  StreamPrivate* p = Private(stream);
  if (!p->error.ok()) return EIO;
  while (!p->decoder.has_schema()) {
    if (p->producer_done) {
      return Fail(p, Status::FailedPrecondition(
                         "arrow ipc: the result has no schema: the producer sent no IPC stream"));
    }
    Status s = PullChunk(p);
    if (!s.ok()) return Fail(p, std::move(s));
  }
  ExportSchema(p->decoder.schema(), out);
  return 0;
}

int GetNext(ArrowArrayStream* stream, ArrowArray* out) {
  StreamPrivate* p = Private(stream);
  if (!p->error.ok()) return EIO;
  while (p->decoder.queued_batches() == 0) {
    if (p->producer_done) {
      out->release = nullptr;  // the end
      return 0;
    }
    Status s = PullChunk(p);
    if (!s.ok()) return Fail(p, std::move(s));
  }
  ExportRecordBatch(*p->decoder.PopBatch(), out);
  return 0;
}

const char* GetLastError(ArrowArrayStream* stream) {
  StreamPrivate* p = Private(stream);
  return p->error.ok() ? nullptr : p->last_error.c_str();
}

void Release(ArrowArrayStream* stream) {
  if (stream == nullptr || stream->release == nullptr) return;
  delete Private(stream);
  stream->release = nullptr;
  stream->private_data = nullptr;
}

}  // namespace

ArrowArrayStream MakeArrowStream(IpcChunkSource next_chunk) {
  ArrowArrayStream out;
  out.get_schema = GetSchema;
  out.get_next = GetNext;
  out.get_last_error = GetLastError;
  out.release = Release;
  out.private_data = new StreamPrivate{std::move(next_chunk), {}, false, Status::OK(), {}};
  return out;
}

}  // namespace larder::offline::arrow_ipc
