#include "transform/model_template.h"

#include <cctype>
#include <map>

namespace larder::transform {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int CountNewlines(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n' ? 1 : 0;
  return n;
}

// A token of the expression inside {{ }} or {% %}.
struct Token {
  enum class Kind { kIdent, kString, kNumber, kPunct, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // identifier, string contents, number or punctuation
};

// Splits an expression into tokens. Errors describe the bad character.
Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (std::isalpha(c) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      tokens.push_back({Token::Kind::kIdent, std::string(s.substr(i, j - i))});
      i = j;
    } else if (std::isdigit(c) || c == '-' || c == '.') {
      size_t j = i + 1;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      tokens.push_back({Token::Kind::kNumber, std::string(s.substr(i, j - i))});
      i = j;
    } else if (c == '\'' || c == '"') {
      size_t j = i + 1;
      std::string value;
      while (j < s.size() && s[j] != static_cast<char>(c)) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        value += s[j++];
      }
      if (j >= s.size()) return Status::InvalidArgument("unterminated string");
      tokens.push_back({Token::Kind::kString, std::move(value)});
      i = j + 1;
    } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == '=') {
      tokens.push_back({Token::Kind::kPunct, std::string(1, static_cast<char>(c))});
      ++i;
    } else {
      return Status::InvalidArgument(std::string("unexpected character '") +
                                     static_cast<char>(c) + "'");
    }
  }
  tokens.push_back({Token::Kind::kEnd, ""});
  return tokens;
}

// A config value: a string, a list of strings, or a bare word/number.
struct ConfigValue {
  bool is_list = false;
  std::vector<std::string> items;  // one item unless is_list
  int line = 0;
};

class ExprParser {
 public:
  explicit ExprParser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  const Token& Peek() const { return t_[i_]; }
  bool AtEnd() const { return Peek().kind == Token::Kind::kEnd; }
  bool IsPunct(std::string_view p) const {
    return Peek().kind == Token::Kind::kPunct && Peek().text == p;
  }
  bool Accept(std::string_view p) {
    if (!IsPunct(p)) return false;
    ++i_;
    return true;
  }
  Token Next() { return AtEnd() ? Peek() : t_[i_++]; }

 private:
  std::vector<Token> t_;
  size_t i_ = 0;
};

class Parser {
 public:
  explicit Parser(const SqlModel& model) : model_(model) {
    out_.name = model.name;
    out_.file = model.location.file.empty() ? "models/" + model.name + ".sql" : model.location.file;
  }

  Result<ParsedModel> Parse() {
    std::string_view sql = model_.sql;
    size_t pos = 0;
    int line = 1;
    std::string text;
    int text_line = 1;  // the line where `text` starts
    auto add_text = [&](std::string_view piece) {
      if (text.empty()) text_line = line;
      text += piece;
    };
    int depth = 0;
    while (pos < sql.size()) {
      size_t open = FindOpen(sql, pos);
      if (open == std::string_view::npos) {
        add_text(sql.substr(pos));
        break;
      }
      add_text(sql.substr(pos, open - pos));
      line += CountNewlines(sql.substr(pos, open - pos));
      char kind = sql[open + 1];
      std::string_view close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
      size_t close_at = sql.find(close, open + 2);
      if (close_at == std::string_view::npos) {
        return Error(line, "`" + std::string(sql.substr(open, 2)) + "` is never closed by `" +
                               std::string(close) + "`");
      }
      std::string_view inner = sql.substr(open + 2, close_at - open - 2);
      const int construct_line = line;
      line += CountNewlines(sql.substr(open, close_at + 2 - open));
      pos = close_at + 2;
      if (kind == '#') continue;  // a comment
      bool trim_before = !inner.empty() && inner.front() == '-';
      bool trim_after = !inner.empty() && inner.back() == '-';
      if (trim_before) inner.remove_prefix(1);
      if (trim_after && !inner.empty()) inner.remove_suffix(1);
      if (trim_before) {
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
          text.pop_back();
        }
      }
      if (!text.empty()) AddText(std::move(text), text_line);
      text.clear();
      std::string_view body = Trim(inner);
      Status st = kind == '{' ? Expression(body, construct_line)
                              : Statement(body, construct_line, &depth);
      if (!st.ok()) return st;
      if (trim_after) {
        while (pos < sql.size() && std::isspace(static_cast<unsigned char>(sql[pos]))) {
          line += sql[pos] == '\n' ? 1 : 0;
          ++pos;
        }
      }
    }
    if (!text.empty()) AddText(std::move(text), text_line);
    if (depth != 0) return Error(if_lines_.back(), "`{% if %}` is never closed by `{% endif %}`");
    LARDER_RETURN_IF_ERROR(ValidateConfig());
    return std::move(out_);
  }

 private:
  void AddText(std::string text, int line) {
    out_.nodes.push_back({TemplateNode::Kind::kText, std::move(text), "", false, line});
  }

  static size_t FindOpen(std::string_view sql, size_t from) {
    for (size_t i = sql.find('{', from); i != std::string_view::npos; i = sql.find('{', i + 1)) {
      if (i + 1 < sql.size() && (sql[i + 1] == '{' || sql[i + 1] == '%' || sql[i + 1] == '#')) {
        return i;
      }
    }
    return std::string_view::npos;
  }

  Status Error(int line, const std::string& what) const {
    return Status::InvalidArgument(out_.file + ":" + std::to_string(line) + ": model '" +
                                   out_.name + "': " + what);
  }
  Status Unsupported(int line, std::string_view body, std::string_view open,
                     std::string_view close, const std::string& why = "") const {
    return Error(line, "unsupported template expression `" + std::string(open) + " " +
                           std::string(body) + " " + std::string(close) + "`" +
                           (why.empty() ? "" : " (" + why + ")") +
                           "; supported: ref(), source(), this, config(), "
                           "incremental_lower_bound(), if is_incremental()/else/endif");
  }

  static void AddOnce(std::vector<std::pair<std::string, int>>* list, const std::string& name,
                      int line) {
    for (const auto& [n, l] : *list) {
      if (n == name) return;
    }
    list->emplace_back(name, line);
  }

  Status Expression(std::string_view body, int line) {
    auto unsupported = [&](const std::string& why = "") {
      return Unsupported(line, body, "{{", "}}", why);
    };
    Result<std::vector<Token>> tokens = Tokenize(body);
    if (!tokens.ok()) return unsupported(tokens.status().message());
    ExprParser p(std::move(tokens).value());
    Token head = p.Next();
    if (head.kind != Token::Kind::kIdent) return unsupported();
    if (head.text == "this") {
      if (!p.AtEnd()) return unsupported();
      out_.nodes.push_back({TemplateNode::Kind::kThis, "", "", false, line});
      return Status::OK();
    }
    if (!p.Accept("(")) return unsupported();
    if (head.text == "ref" || head.text == "source") {
      Token arg = p.Next();
      if (arg.kind != Token::Kind::kString || !p.Accept(")") || !p.AtEnd()) {
        return unsupported(head.text + "() takes one quoted name");
      }
      bool is_ref = head.text == "ref";
      out_.nodes.push_back({is_ref ? TemplateNode::Kind::kRef : TemplateNode::Kind::kSource, "",
                            arg.text, false, line});
      AddOnce(is_ref ? &out_.refs : &out_.sources, arg.text, line);
      return Status::OK();
    }
    if (head.text == "incremental_lower_bound") {
      if (!p.Accept(")") || !p.AtEnd()) return unsupported("takes no arguments");
      out_.nodes.push_back({TemplateNode::Kind::kLowerBound, "", "", false, line});
      lower_bound_line_ = line;
      return Status::OK();
    }
    if (head.text == "config") return Config(&p, line, body);
    return unsupported();
  }

  Status Config(ExprParser* p, int line, std::string_view body) {
    auto bad = [&](const std::string& why) { return Unsupported(line, body, "{{", "}}", why); };
    if (out_.has_config) return Error(line, "a second `config(...)`; write one per model");
    out_.has_config = true;
    config_line_ = line;
    if (p->Accept(")")) return p->AtEnd() ? Status::OK() : bad("text after config()");
    while (true) {
      Token key = p->Next();
      if (key.kind != Token::Kind::kIdent || !p->Accept("=")) {
        return bad("config() takes key=value arguments");
      }
      ConfigValue value;
      value.line = line;
      if (p->Accept("[")) {
        value.is_list = true;
        while (!p->Accept("]")) {
          Token item = p->Next();
          if (item.kind != Token::Kind::kString) return bad("a list holds quoted strings");
          value.items.push_back(item.text);
          if (!p->IsPunct("]") && !p->Accept(",")) return bad("expected `,` or `]`");
        }
      } else {
        Token v = p->Next();
        if (v.kind == Token::Kind::kEnd || v.kind == Token::Kind::kPunct) {
          return bad("missing value for `" + key.text + "`");
        }
        value.items.push_back(v.text);
      }
      if (config_.contains(key.text)) {
        return Error(line, "config key `" + key.text + "` given twice");
      }
      config_[key.text] = std::move(value);
      if (p->Accept(")")) break;
      if (!p->Accept(",")) return bad("expected `,` or `)`");
    }
    return p->AtEnd() ? Status::OK() : bad("text after config(...)");
  }

  Status Statement(std::string_view body, int line, int* depth) {
    auto unsupported = [&](const std::string& why = "") {
      return Unsupported(line, body, "{%", "%}", why);
    };
    Result<std::vector<Token>> tokens = Tokenize(body);
    if (!tokens.ok()) return unsupported(tokens.status().message());
    ExprParser p(std::move(tokens).value());
    Token head = p.Next();
    if (head.kind != Token::Kind::kIdent) return unsupported();
    if (head.text == "if") {
      Token t = p.Next();
      bool negated = false;
      if (t.kind == Token::Kind::kIdent && t.text == "not") {
        negated = true;
        t = p.Next();
      }
      if (t.kind != Token::Kind::kIdent || t.text != "is_incremental" || !p.Accept("(") ||
          !p.Accept(")") || !p.AtEnd()) {
        return unsupported("the only condition is is_incremental()");
      }
      out_.nodes.push_back({TemplateNode::Kind::kIf, "", "", negated, line});
      ++*depth;
      if_lines_.push_back(line);
      else_seen_.push_back(false);
      return Status::OK();
    }
    if ((head.text == "else" || head.text == "endif") && !p.AtEnd()) return unsupported();
    if (head.text == "else") {
      if (*depth == 0) return Error(line, "`{% else %}` without `{% if %}`");
      if (else_seen_.back()) return Error(line, "a second `{% else %}` in one `{% if %}`");
      else_seen_.back() = true;
      out_.nodes.push_back({TemplateNode::Kind::kElse, "", "", false, line});
      return Status::OK();
    }
    if (head.text == "endif") {
      if (*depth == 0) return Error(line, "`{% endif %}` without `{% if %}`");
      --*depth;
      if_lines_.pop_back();
      else_seen_.pop_back();
      out_.nodes.push_back({TemplateNode::Kind::kEndIf, "", "", false, line});
      return Status::OK();
    }
    return unsupported();
  }

  Status ValidateConfig() {
    ModelConfig& c = out_.config;
    int line = config_line_;
    bool strategy_set = false;
    for (const auto& [key, value] : config_) {
      auto single = [&, &k = key, &v = value]() -> Result<std::string> {
        if (v.is_list || v.items.size() != 1) {
          return Error(line, "config `" + k + "` takes one value");
        }
        return v.items[0];
      };
      if (key == "materialized") {
        LARDER_ASSIGN_OR_RETURN(std::string m, single());
        if (m == "view") {
          c.materialized = Materialization::kView;
        } else if (m == "table") {
          c.materialized = Materialization::kTable;
        } else if (m == "incremental") {
          c.materialized = Materialization::kIncremental;
        } else {
          return Error(line, "config materialized='" + m +
                                 "' is not one of 'view', 'table', 'incremental'");
        }
      } else if (key == "unique_key") {
        c.unique_key = value.items;
        if (c.unique_key.empty()) return Error(line, "config unique_key is an empty list");
      } else if (key == "incremental_strategy") {
        LARDER_ASSIGN_OR_RETURN(std::string s, single());
        if (s == "append") {
          c.strategy = IncrementalStrategy::kAppend;
        } else if (s == "merge") {
          c.strategy = IncrementalStrategy::kMerge;
        } else {
          return Error(line, "config incremental_strategy='" + s +
                                 "' is not one of 'append', 'merge'");
        }
        strategy_set = true;
      } else if (key == "lookback") {
        LARDER_ASSIGN_OR_RETURN(std::string s, single());
        Result<Duration> d = ParseDuration(s);
        if (!d.ok()) return Error(line, "config lookback='" + s + "': " + d.status().message());
        c.lookback = *d;
      } else if (key == "event_time") {
        LARDER_ASSIGN_OR_RETURN(c.event_time, single());
      } else if (key == "engine") {
        LARDER_ASSIGN_OR_RETURN(std::string e, single());
        c.engine = SqlEngineNamed(e);
        if (!c.engine)
          return Error(line, "config engine='" + e + "' is not one of 'duckdb', 'spark'");
      } else {
        return Error(line, "unknown config key `" + key +
                               "`; accepted: materialized, unique_key, incremental_strategy, "
                               "lookback, event_time, engine");
      }
    }
    if (!strategy_set && !c.unique_key.empty()) c.strategy = IncrementalStrategy::kMerge;
    if (c.materialized == Materialization::kIncremental) {
      if (c.strategy == IncrementalStrategy::kMerge && c.unique_key.empty()) {
        return Error(line, "incremental_strategy='merge' needs a unique_key");
      }
      if (c.lookback.micros > 0 && c.event_time.empty()) {
        return Error(line, "lookback needs event_time, the column it is measured on");
      }
      if (c.lookback.micros > 0 && c.strategy == IncrementalStrategy::kAppend) {
        return Error(line,
                     "lookback with incremental_strategy='append' would insert the re-read "
                     "rows twice; use incremental_strategy='merge' with a unique_key");
      }
    }
    if (lower_bound_line_ > 0 &&
        (c.materialized != Materialization::kIncremental || c.event_time.empty())) {
      return Error(lower_bound_line_,
                   "incremental_lower_bound() needs config(materialized='incremental', "
                   "event_time='column')");
    }
    return Status::OK();
  }

  const SqlModel& model_;
  ParsedModel out_;
  std::map<std::string, ConfigValue> config_;
  int config_line_ = 0;
  int lower_bound_line_ = 0;
  std::vector<int> if_lines_;
  std::vector<bool> else_seen_;
};

}  // namespace

std::string_view MaterializationName(Materialization m) {
  switch (m) {
    case Materialization::kView:
      return "view";
    case Materialization::kTable:
      return "table";
    case Materialization::kIncremental:
      return "incremental";
  }
  return "?";
}

std::string_view IncrementalStrategyName(IncrementalStrategy s) {
  return s == IncrementalStrategy::kAppend ? "append" : "merge";
}

Result<ParsedModel> ParseModelTemplate(const SqlModel& model) { return Parser(model).Parse(); }

Result<std::string> Render(const ParsedModel& parsed, const RenderContext& context,
                           std::vector<int>* lines) {
  auto error = [&](int line, const std::string& what) {
    return Status::InvalidArgument(parsed.file + ":" + std::to_string(line) + ": model '" +
                                   parsed.name + "': " + what);
  };
  std::string sql;
  // One entry per open {% if %}: whether its current branch is taken.
  std::vector<bool> taken;
  std::vector<bool> condition;
  auto active = [&] {
    for (bool t : taken) {
      if (!t) return false;
    }
    return true;
  };
  for (const TemplateNode& node : parsed.nodes) {
    switch (node.kind) {
      case TemplateNode::Kind::kIf: {
        bool c = context.is_incremental != node.negated;
        condition.push_back(c);
        taken.push_back(c);
        continue;
      }
      case TemplateNode::Kind::kElse:
        taken.back() = !condition.back();
        continue;
      case TemplateNode::Kind::kEndIf:
        taken.pop_back();
        condition.pop_back();
        continue;
      default:
        break;
    }
    if (!active()) continue;
    const size_t start = sql.size();
    switch (node.kind) {
      case TemplateNode::Kind::kText:
        sql += node.text;
        break;
      case TemplateNode::Kind::kRef:
      case TemplateNode::Kind::kSource: {
        bool is_ref = node.kind == TemplateNode::Kind::kRef;
        Result<std::string> r = is_ref ? context.ref(node.name) : context.source(node.name);
        if (!r.ok()) {
          return error(node.line, std::string(is_ref ? "ref" : "source") + "('" + node.name +
                                      "'): " + r.status().message());
        }
        sql += *r;
        break;
      }
      case TemplateNode::Kind::kThis:
        sql += context.this_sql;
        break;
      case TemplateNode::Kind::kLowerBound: {
        if (!context.is_incremental) {
          return error(node.line,
                       "incremental_lower_bound() is used where is_incremental() is false; "
                       "put it inside {% if is_incremental() %}");
        }
        std::string newest = "(SELECT max(" + QuoteName(context.engine, parsed.config.event_time) +
                             ") FROM " + context.this_sql + ")";
        if (parsed.config.lookback.micros > 0) {
          newest = MinusMicros(context.engine, newest, parsed.config.lookback.micros);
        }
        sql += "(" + newest + ")";
        break;
      }
      default:
        break;
    }
    if (lines != nullptr) {
      int line = node.line;
      for (size_t i = start; i < sql.size(); ++i) {
        lines->push_back(line);
        if (node.kind == TemplateNode::Kind::kText && sql[i] == '\n') ++line;
      }
    }
  }
  return sql;
}

}  // namespace larder::transform
