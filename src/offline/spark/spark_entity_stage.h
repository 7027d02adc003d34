// Entity rows that Spark cannot read where they are, an entity DataFrame
// (an Arrow stream from the SDK) or a CSV file, staged as one parquet file
// that a Spark server on this machine reads.
//
// The rows go through an in-memory DuckDB database, as the duckdb store
// takes them (Arrow types, or read_csv_auto's guesses for a CSV file), and
// are written in input order to `entities.parquet` in a fresh directory
// under the system temporary directory, which the StagedEntityFile removes
// when destroyed. A Spark server elsewhere cannot read that file: staging is
// refused unless the server's endpoint is a loopback address.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "larder/offline_store.h"
#include "larder/status.h"

namespace larder::offline::spark {

class StagedEntityFile {
 public:
  explicit StagedEntityFile(std::string dir);
  ~StagedEntityFile();
  StagedEntityFile(const StagedEntityFile&) = delete;
  StagedEntityFile& operator=(const StagedEntityFile&) = delete;

  // The parquet file, absolute.
  std::string path() const;

 private:
  std::string dir_;
};

// Whether `endpoint` ("host:port", "[v6]:port") names this machine:
// localhost, 127.0.0.0/8 or ::1.
bool IsLoopbackEndpoint(std::string_view endpoint);

// Stages the request's entity Arrow stream, or its entity CSV file, for
// the server at `endpoint`. `what` names the rows in messages ("entity
// DataFrame", "entity file x.csv").
// Errors: InvalidArgument when the server is not on this machine (saying
// what to pass instead) or DuckDB cannot read the rows; NotFound for a
// missing CSV file; IOError when the file cannot be written.
Result<std::shared_ptr<StagedEntityFile>> StageEntityRows(const HistoricalFeaturesRequest& request,
                                                          std::string_view endpoint,
                                                          const std::string& what);

}  // namespace larder::offline::spark
