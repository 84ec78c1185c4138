// Typed, checked reading of TOML tables for the config loaders: each
// getter validates type and range and records the first error with the
// file, line and dotted key; finish() also refuses keys nobody read.
// `table` is a table name ("hub"), or an element of an array of tables
// ("nhs[1]", for [[nhs]] sections).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "app/hub_config.h"
#include "base/ip_address.h"

namespace advpnd::app {

class TomlReader {
 public:
  TomlReader(std::string file, const toml::table& root) : file_(std::move(file)), root_(root) {}

  // Each returns the value, or nullopt when absent (or wrong: error() is set).
  std::optional<std::int64_t> integer(std::string_view table, std::string_view key, std::int64_t min,
                                      std::int64_t max);
  std::optional<double> number(std::string_view table, std::string_view key, double min, double max);
  std::optional<bool> boolean(std::string_view table, std::string_view key);
  std::optional<std::string> string(std::string_view table, std::string_view key);
  std::optional<IpAddress> address(std::string_view table, std::string_view key);
  // One of `choices` (comma-separated in the message).
  std::optional<std::string> choice(std::string_view table, std::string_view key,
                                    std::initializer_list<std::string_view> choices);
  // Records an error at the key's line (for checks across keys).
  void fail_at(std::string_view table, std::string_view key, const std::string& message);
  void require(std::string_view table, std::string_view key);

  // Elements in the array of tables `name` ([[name]] sections); 0 when absent.
  [[nodiscard]] std::size_t array_size(std::string_view name);
  // A list of strings (e.g. local prefixes); nullopt when absent or wrong.
  std::optional<std::vector<std::string>> strings(std::string_view table, std::string_view key);

  // Unknown tables and keys are errors.
  void finish(std::initializer_list<std::string_view> known_tables);
  [[nodiscard]] const std::optional<ConfigError>& error() const { return error_; }

 private:
  const toml::node* find(std::string_view table, std::string_view key);
  const toml::table* section(std::string_view table) const;
  void check_keys(const std::string& table, const toml::table& contents);
  void record(const toml::node* node, std::string key, std::string message);

  std::string file_;
  const toml::table& root_;
  std::set<std::string> read_;
  std::optional<ConfigError> error_;
};

}  // namespace advpnd::app
