// Prints rows as left-aligned columns under upper-case headers, the way the
// list commands show registry objects.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace larder::cli {

class TablePrinter {
 public:
  explicit TablePrinter(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // REQUIRES: row.size() == number of headers.
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& os) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "a, b, c".
std::string JoinComma(const std::vector<std::string>& items);

}  // namespace larder::cli
