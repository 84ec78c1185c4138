// Aligned text tables for advpnctl's human output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace advpnd::app {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // Columns padded to their widest cell, two spaces apart, one line per row.
  [[nodiscard]] std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-27 09:14:03Z" (UTC), or "-" for 0.
[[nodiscard]] std::string format_unix_time(std::int64_t unix_seconds);

}  // namespace advpnd::app
