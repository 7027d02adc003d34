// The `larder` command. All behaviour lives in larder_cli_lib and liblarder.
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"

// jemalloc's options, read when it starts (MALLOC_CONF in the environment
// still overrides them). Long-running commands (`serve`, `stream`,
// `schedule`) go quiet between bursts of work; without a background thread
// jemalloc returns freed pages to the system only when the process
// allocates again, so an idle scheduler kept the peak of its last run.
extern "C" {
const char* malloc_conf = "background_thread:true";
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  larder::cli::Output output{std::cout, std::cerr};
  return larder::cli::Run(args, output);
}
