// Plain-text tables for `warden`'s admin commands: a header row, columns padded to their
// widest cell, two spaces between columns, "-" for an empty cell. Cells are server data,
// so control characters (terminal escapes, line breaks) are shown as '?'.
// Thread-safety: a plain value.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace warden::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// `text` with control characters replaced by '?' (UTF-8 kept).
std::string displayText(const std::string& text);

}  // namespace warden::cli
