// Running `dbt build` for a scheduled view whose source is a dbt model
// (`dbt_executable` on a `type: dbt` source; docs/orchestration.md).
#pragma once

#include <string>

#include "larder/status.h"

namespace larder::orchestrate {

struct DbtBuild {
  std::string executable;   // a name looked up on PATH, or an absolute path
  std::string project_dir;  // absolute
  std::string model;
  bool operator==(const DbtBuild&) const = default;
};

// Runs `<executable> build --select <model>+ --project-dir <project_dir>` in
// project_dir, without a shell, and waits for it. FailedPrecondition with
// the end of dbt's output when it exits non-zero; NotFound when the program
// cannot be run.
Status RunDbtBuild(const DbtBuild& build);

}  // namespace larder::orchestrate
