// The handlers of the `larder` commands, declared for the table in
// commands.cc. Each returns the process exit code.
#pragma once

#include <cstdint>
#include <string_view>

#include "cli/command.h"

namespace larder::cli {

int InitCommand(const Invocation& inv, Output& o);
int PlanCommand(const Invocation& inv, Output& o);
int ApplyCommand(const Invocation& inv, Output& o);
int TeardownCommand(const Invocation& inv, Output& o);
int RegistryDumpCommand(const Invocation& inv, Output& o);
int EntitiesListCommand(const Invocation& inv, Output& o);
int DataSourcesListCommand(const Invocation& inv, Output& o);
int ModelsListCommand(const Invocation& inv, Output& o);
int FeatureViewsListCommand(const Invocation& inv, Output& o);
int FeatureViewsDescribeCommand(const Invocation& inv, Output& o);
int FeatureServicesListCommand(const Invocation& inv, Output& o);
int FeatureServicesDescribeCommand(const Invocation& inv, Output& o);
int DemoDataCommand(const Invocation& inv, Output& o);
int DemoStreamCommand(const Invocation& inv, Output& o);
int RepoFormatCommand(const Invocation& inv, Output& o);
int RunCommand(const Invocation& inv, Output& o);
int TestCommand(const Invocation& inv, Output& o);
int HistoricalCommand(const Invocation& inv, Output& o);
int PushCommand(const Invocation& inv, Output& o);
int OnlineDeleteCommand(const Invocation& inv, Output& o);
int MaterializeCommand(const Invocation& inv, Output& o);
int MaterializeIncrementalCommand(const Invocation& inv, Output& o);
int OnlineCommand(const Invocation& inv, Output& o);
int ServeCommand(const Invocation& inv, Output& o);
int StreamCommand(const Invocation& inv, Output& o);
int ScheduleCommand(const Invocation& inv, Output& o);
int BackfillCommand(const Invocation& inv, Output& o);
int RunsCommand(const Invocation& inv, Output& o);
int AirflowDagCommand(const Invocation& inv, Output& o);
int VersionCommand(const Invocation& inv, Output& o);

}  // namespace larder::cli
