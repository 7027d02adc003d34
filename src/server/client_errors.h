// What the feature server tells HTTP clients about a failed call. Error
// messages are written for operators and may name absolute file paths or
// the process that holds a lock; clients get the message without those (the
// server log keeps the original), and a status code that says whether a
// retry can help.
#pragma once

#include <string>
#include <string_view>

#include "larder/status.h"

namespace larder::server {

// `message` with every absolute file path cut to its last component
// ("/srv/repo/data/offline_store.duckdb" -> "offline_store.duckdb") and the
// process id and user of a lock holder ("(PID 123)", "by user alice")
// removed. URLs and relative paths are kept.
std::string RedactForClient(std::string_view message);

// True when the message says the disk (or the file system) is full.
bool IsDiskFull(std::string_view message);

// The HTTP status for a failed call: 400 bad input, 404 not found, 409 a
// precondition (a model not built), 503 busy (a lock held elsewhere: retry
// later), 507 the disk is full (a store error of any code saying so, even
// Busy: a retry does not help until space is freed), 500 anything else.
int HttpStatusFor(const Status& status);

}  // namespace larder::server
