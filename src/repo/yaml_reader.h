// Reading YAML definitions with positions, for errors that name the file, the
// line and the field. This is the only code that touches yaml-cpp; its
// exceptions stop here.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "repo/diagnostics.h"

namespace larder::repo {

// Parses the YAML file at `abs_path`. A syntax error is recorded against
// `rel_path` with its line and returns nullopt.
std::optional<YAML::Node> ParseYamlFile(const std::string& abs_path,
                                        const std::string& rel_path,
                                        Diagnostics* diag);

// Same, for text already in memory (tests, generated files).
std::optional<YAML::Node> ParseYamlText(const std::string& text,
                                        const std::string& rel_path,
                                        Diagnostics* diag);

// The 1-based line of a node; 0 when unknown.
int LineOf(const YAML::Node& node);

// One accepted key of a YAML mapping. Tables of these declare each object's
// format once; the reader and the generated format help both use them.
struct KeySpec {
  std::string_view key;
  bool required;
  std::string_view help;
};

// Reads one YAML mapping that declares an object. On construction it records
// errors for a node that is not a mapping, for unknown and duplicate keys,
// and for missing required keys. Accessors record type errors and return a
// default, so a caller reads every field and all errors are collected.
class MapReader {
 public:
  // `what` names the object in messages, e.g. "entity"; when the mapping
  // has a scalar `name`, it is appended: "entity 'user'".
  MapReader(const YAML::Node& node, std::string file, std::string what,
            std::span<const KeySpec> keys, Diagnostics* diag);

  // False when the node was not a mapping; accessors then return defaults.
  bool valid() const { return valid_; }
  int line() const { return LineOf(node_); }
  const std::string& file() const { return file_; }

  bool Has(std::string_view key) const;
  // The value node; an undefined node when absent.
  YAML::Node Get(std::string_view key) const;
  // The line of the key's value, or of the mapping when absent.
  int LineOfKey(std::string_view key) const;

  std::string String(std::string_view key, std::string fallback = "");
  std::vector<std::string> StringList(std::string_view key);
  std::map<std::string, std::string> StringMap(std::string_view key);
  std::optional<bool> Bool(std::string_view key);

  // Records "FILE:LINE: <what>: field `key`: message".
  void FieldError(std::string_view key, std::string_view message);
  // Records "FILE:LINE: <what>: message" at the mapping's line.
  void ObjectError(std::string_view message);

 private:
  YAML::Node node_;
  std::string file_;
  std::string what_;
  Diagnostics* diag_;
  bool valid_ = false;
};

// A short description of a node's kind for messages: "a list", "a mapping".
std::string_view NodeKindName(const YAML::Node& node);

}  // namespace larder::repo
