// The `larder` command. All behaviour lives in larder_cli_lib and liblarder.
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  larder::cli::Output output{std::cout, std::cerr};
  return larder::cli::Run(args, output);
}
