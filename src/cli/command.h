// The `larder` command line: the table of commands and their arguments.
//
// Every command and flag is declared once, in the table in commands.cc; the
// parser and `--help` both read it.
#pragma once

#include <map>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace larder::cli {

// A flag such as `--scale S`. Flags without a value are switches.
struct FlagSpec {
  std::string_view name;        // "--scale"
  std::string_view value_name;  // "S"; empty for a switch
  std::string_view help;
  std::string_view default_value;  // empty when none
};

// A positional argument such as `NAME`.
struct ArgSpec {
  std::string_view name;
  std::string_view help;
};

// What one invocation asked for, after parsing.
struct Invocation {
  std::string repo_dir = ".";                 // -c / --chdir
  std::map<std::string, std::string> flags;   // "--scale" -> "0.1"; switches -> ""
  std::vector<std::string> args;              // positionals

  bool Has(std::string_view flag) const { return flags.contains(std::string(flag)); }
  // The flag's value, or `fallback` when absent.
  std::string Flag(std::string_view flag, std::string fallback = "") const;
};

// "a, b,c" -> {"a", "b", "c"}: the items of a comma-separated flag value,
// trimmed, empty items dropped.
std::vector<std::string> SplitCommaList(const std::string& text);

// Where a command writes. Tests capture both.
struct Output {
  std::ostream& out;
  std::ostream& err;
};

// A command's handler returns the process exit code.
using Handler = int (*)(const Invocation&, Output&);

struct CommandSpec {
  std::string_view name;  // "feature-views describe"
  std::string_view summary;
  std::span<const ArgSpec> args;
  std::span<const FlagSpec> flags;
  Handler handler;
};

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the command failed
inline constexpr int kExitUsage = 2;  // the command line was wrong

// The table of every command, in help order.
std::span<const CommandSpec> Commands();

// Runs the command line `argv[1..]`; returns the exit code.
int Run(const std::vector<std::string>& argv, Output& output);

}  // namespace larder::cli
