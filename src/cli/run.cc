// Parses a command line against the command table and dispatches it.
#include <algorithm>
#include <sstream>

#include "cli/command.h"
#include "cli/handlers.h"

namespace larder::cli {
namespace {

const FlagSpec kGlobalFlags[] = {
    {"-c", "REPO_DIR", "feature repo directory (also --chdir; default: .)", ""},
    {"--help", "", "show help (also -h)", ""},
    {"--version", "", "print the version", ""},
};

std::vector<std::string_view> Words(std::string_view name) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start < name.size()) {
    size_t end = name.find(' ', start);
    if (end == std::string_view::npos) end = name.size();
    words.push_back(name.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

std::string Usage(const CommandSpec& c) {
  std::string u = "larder " + std::string(c.name);
  for (const auto& a : c.args) u += " " + std::string(a.name);
  for (const auto& f : c.flags) {
    u += " [" + std::string(f.name);
    if (!f.value_name.empty()) u += " " + std::string(f.value_name);
    u += "]";
  }
  return u;
}

std::string FlagLeft(const FlagSpec& f) {
  std::string left(f.name);
  if (!f.value_name.empty()) left += " " + std::string(f.value_name);
  return left;
}

void PrintFlagLines(std::ostream& os, std::span<const FlagSpec> flags) {
  size_t width = 0;
  for (const auto& f : flags) width = std::max(width, FlagLeft(f).size());
  for (const auto& f : flags) {
    std::string left = FlagLeft(f);
    os << "  " << left << std::string(width - left.size() + 2, ' ') << f.help;
    if (!f.default_value.empty()) os << " (default: " << f.default_value << ")";
    os << "\n";
  }
}

void PrintHelp(std::ostream& os) {
  os << "larder: a feature store for machine learning.\n\n"
     << "Usage: larder [-c REPO_DIR] COMMAND [ARGS...]\n\nCommands:\n";
  size_t width = 0;
  for (const auto& c : Commands()) width = std::max(width, c.name.size());
  for (const auto& c : Commands()) {
    os << "  " << c.name << std::string(width - c.name.size() + 3, ' ') << c.summary << "\n";
  }
  os << "\nOptions:\n";
  PrintFlagLines(os, kGlobalFlags);
  os << "\nRun `larder COMMAND --help` for a command's arguments.\n";
}

void PrintCommandHelp(std::ostream& os, const CommandSpec& c) {
  os << "Usage: " << Usage(c) << "\n\n" << c.summary << "\n";
  if (!c.args.empty()) {
    os << "\nArguments:\n";
    for (const auto& a : c.args) {
      os << "  " << a.name << std::string(a.name.size() < 22 ? 22 - a.name.size() : 1, ' ')
         << a.help << "\n";
    }
  }
  if (!c.flags.empty()) {
    os << "\nOptions:\n";
    PrintFlagLines(os, c.flags);
  }
}

int UsageError(Output& o, const std::string& message, const CommandSpec* c) {
  o.err << "larder: " << message << "\n";
  if (c != nullptr) {
    o.err << "usage: " << Usage(*c) << "\n";
  } else {
    o.err << "Run `larder --help` for the list of commands.\n";
  }
  return kExitUsage;
}

}  // namespace

std::vector<std::string> SplitCommaList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = end + 1;
  }
  return out;
}

std::string Invocation::Flag(std::string_view flag, std::string fallback) const {
  auto it = flags.find(std::string(flag));
  return it == flags.end() ? fallback : it->second;
}

int Run(const std::vector<std::string>& argv, Output& o) {
  Invocation inv;
  std::vector<std::string> rest;
  bool help = false;
  // Global options may come before or after the command words.
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-c" || a == "--chdir") {
      if (i + 1 >= argv.size()) return UsageError(o, a + " needs a directory", nullptr);
      inv.repo_dir = argv[++i];
    } else if (a.starts_with("--chdir=")) {
      inv.repo_dir = a.substr(8);
    } else if (a == "-h" || a == "--help") {
      help = true;
    } else if (a == "--version") {
      return VersionCommand(inv, o);
    } else {
      rest.push_back(a);
    }
  }

  // Longest command whose words prefix the remaining arguments.
  const CommandSpec* command = nullptr;
  size_t used = 0;
  for (const auto& c : Commands()) {
    auto words = Words(c.name);
    if (words.size() > rest.size() || words.size() <= used) continue;
    if (std::equal(words.begin(), words.end(), rest.begin())) {
      command = &c;
      used = words.size();
    }
  }
  if (command == nullptr) {
    if (rest.empty()) {
      PrintHelp(help ? o.out : o.err);
      return help ? kExitOk : kExitUsage;
    }
    // A group word alone ("entities") lists its subcommands; with --help
    // that is the help asked for.
    std::string group = rest[0];
    std::ostringstream subs;
    for (const auto& c : Commands()) {
      if (Words(c.name)[0] == group) subs << "  " << Usage(c) << "\n";
    }
    if (!subs.str().empty()) {
      (help ? o.out : o.err) << "larder " << group << ": choose one of:\n" << subs.str();
      return help ? kExitOk : kExitUsage;
    }
    return UsageError(o, "unknown command `" + rest[0] + "`", nullptr);
  }
  if (help) {
    PrintCommandHelp(o.out, *command);
    return kExitOk;
  }

  for (size_t i = used; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (!a.starts_with("--") || a == "--") {
      inv.args.push_back(a);
      continue;
    }
    std::string name = a;
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    auto spec = std::find_if(command->flags.begin(), command->flags.end(),
                             [&](const FlagSpec& f) { return f.name == name; });
    if (spec == command->flags.end()) {
      return UsageError(o, "unknown option `" + name + "` for `" + std::string(command->name) + "`",
                        command);
    }
    if (!spec->value_name.empty() && !has_value) {
      if (i + 1 >= rest.size()) {
        return UsageError(o, name + " needs a value (" + std::string(spec->value_name) + ")",
                          command);
      }
      value = rest[++i];
    } else if (spec->value_name.empty() && has_value) {
      return UsageError(o, name + " takes no value", command);
    }
    if (auto [it, inserted] = inv.flags.emplace(name, value); !inserted) {
      // A flag whose value name ends in "..." may repeat; its values are
      // kept one per line.
      if (!spec->value_name.ends_with("...")) {
        return UsageError(o, name + " is given twice", command);
      }
      it->second += "\n" + value;
    }
  }
  if (inv.args.size() != command->args.size()) {
    std::string expected = command->args.empty() ? "no arguments" : "";
    for (const auto& a : command->args) expected += (expected.empty() ? "" : " ") + std::string(a.name);
    return UsageError(o, "`" + std::string(command->name) + "` takes " + expected + ", got " +
                             std::to_string(inv.args.size()) + " argument(s)",
                      command);
  }
  return command->handler(inv, o);
}

}  // namespace larder::cli
