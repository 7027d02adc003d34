#include "repo/yaml_reader.h"

#include <fstream>
#include <set>
#include <sstream>

namespace larder::repo {
namespace {

std::string Quote(std::string_view key) { return "`" + std::string(key) + "`"; }

std::optional<YAML::Node> Parse(const std::string& text,
                                const std::string& rel_path,
                                Diagnostics* diag) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    diag->Error(rel_path, line, "malformed YAML: " + e.msg);
  } catch (const std::exception& e) {
    diag->Error(rel_path, 0, std::string("malformed YAML: ") + e.what());
  }
  return std::nullopt;
}

}  // namespace

std::optional<YAML::Node> ParseYamlFile(const std::string& abs_path,
                                        const std::string& rel_path,
                                        Diagnostics* diag) {
  std::ifstream in(abs_path, std::ios::binary);
  if (!in) {
    diag->Error(rel_path, 0, "cannot read the file");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), rel_path, diag);
}

std::optional<YAML::Node> ParseYamlText(const std::string& text,
                                        const std::string& rel_path,
                                        Diagnostics* diag) {
  return Parse(text, rel_path, diag);
}

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string_view NodeKindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a single value";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "something else";
}

MapReader::MapReader(const YAML::Node& node, std::string file,
                     std::string what, std::span<const KeySpec> keys,
                     Diagnostics* diag)
    : node_(node), file_(std::move(file)), what_(std::move(what)), diag_(diag) {
  if (!node_.IsMap()) {
    ObjectError("expected a mapping of keys to values, found " +
                std::string(NodeKindName(node_)));
    return;
  }
  valid_ = true;
  // Objects are named in messages once their `name` is known.
  YAML::Node name = Get("name");
  if (name.IsScalar()) what_ += " '" + name.Scalar() + "'";
  std::set<std::string> seen;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      diag_->Error(file_, LineOf(kv.first),
                   what_ + ": a key must be a plain name, found " +
                       std::string(NodeKindName(kv.first)));
      continue;
    }
    const std::string& key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      diag_->Error(file_, LineOf(kv.first),
                   what_ + ": field " + Quote(key) + " is given twice");
      continue;
    }
    bool known = false;
    for (const auto& spec : keys) known = known || spec.key == key;
    if (!known) {
      std::string accepted;
      for (const auto& spec : keys) {
        if (!accepted.empty()) accepted += ", ";
        accepted += spec.key;
      }
      diag_->Error(file_, LineOf(kv.first),
                   what_ + ": unknown field " + Quote(key) +
                       " (accepted: " + accepted + ")");
    }
  }
  for (const auto& spec : keys) {
    if (spec.required) {
      YAML::Node value = Get(spec.key);
      if (!value.IsDefined() || value.IsNull()) {
        ObjectError("missing required field " + Quote(spec.key) + " (" +
                    std::string(spec.help) + ")");
      }
    }
  }
}

bool MapReader::Has(std::string_view key) const {
  YAML::Node value = Get(key);
  return value.IsDefined() && !value.IsNull();
}

YAML::Node MapReader::Get(std::string_view key) const {
  if (valid_) {
    for (const auto& kv : node_) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

int MapReader::LineOfKey(std::string_view key) const {
  YAML::Node value = Get(key);
  int line = LineOf(value);
  return line > 0 ? line : LineOf(node_);
}

std::string MapReader::String(std::string_view key, std::string fallback) {
  YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return fallback;
  if (!value.IsScalar()) {
    FieldError(key, "expected a single value, found " +
                        std::string(NodeKindName(value)));
    return fallback;
  }
  return value.Scalar();
}

std::vector<std::string> MapReader::StringList(std::string_view key) {
  std::vector<std::string> out;
  YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return out;
  if (!value.IsSequence()) {
    FieldError(key, "expected a list, found " + std::string(NodeKindName(value)));
    return out;
  }
  for (const auto& item : value) {
    if (!item.IsScalar()) {
      diag_->Error(file_, LineOf(item),
                   what_ + ": field " + Quote(key) +
                       ": every item must be a single value, found " +
                       std::string(NodeKindName(item)));
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

std::map<std::string, std::string> MapReader::StringMap(std::string_view key) {
  std::map<std::string, std::string> out;
  YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return out;
  if (!value.IsMap()) {
    FieldError(key, "expected a mapping, found " + std::string(NodeKindName(value)));
    return out;
  }
  for (const auto& kv : value) {
    if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull())) {
      diag_->Error(file_, LineOf(kv.first),
                   what_ + ": field " + Quote(key) +
                       ": keys and values must be single values");
      continue;
    }
    std::string v = kv.second.IsNull() ? "" : kv.second.Scalar();
    if (!out.emplace(kv.first.Scalar(), v).second) {
      diag_->Error(file_, LineOf(kv.first),
                   what_ + ": field " + Quote(key) + ": key `" +
                       kv.first.Scalar() + "` is given twice");
    }
  }
  return out;
}

std::optional<bool> MapReader::Bool(std::string_view key) {
  YAML::Node value = Get(key);
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  if (value.IsScalar()) {
    const std::string& s = value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  FieldError(key, "expected true or false");
  return std::nullopt;
}

void MapReader::FieldError(std::string_view key, std::string_view message) {
  diag_->Error(file_, LineOfKey(key),
               what_ + ": field " + Quote(key) + ": " + std::string(message));
}

void MapReader::ObjectError(std::string_view message) {
  diag_->Error(file_, LineOf(node_), what_ + ": " + std::string(message));
}

}  // namespace larder::repo
