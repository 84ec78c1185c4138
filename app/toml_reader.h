// Typed, checked reading of TOML tables for the config loaders: each
// getter validates type and range and records every error with the file,
// line and dotted key (an operator fixes a file in one pass, not one error
// per run); finish() also refuses keys nobody read. Warnings (a config that
// runs, but probably not as meant) are recorded the same way.
// `table` is a table name ("hub"), or an element of an array of tables
// ("nhs[1]", for [[nhs]] sections).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "app/hub_config.h"
#include "app/listen_address.h"
#include "base/ip_address.h"
#include "base/result.h"

namespace advpnd::app {

// What the daemons cannot run yet, said the same way for every key.
inline constexpr const char* kOnlyIpv4Nbma = "only IPv4 NBMA is supported yet";
inline constexpr const char* kOnlyIpv4Overlay = "only an IPv4 overlay is supported yet";

// An address and a prefix length, as a config names a LAN: "192.168.2.0/24".
struct ConfigPrefix {
  IpAddress address;  // masked to `length`
  std::uint8_t length = 0;
};

// "ADDRESS/LENGTH" strictly: an address inet_pton takes, one '/', and a
// decimal length with nothing after it that fits the family. The error
// says which part is wrong.
[[nodiscard]] Result<ConfigPrefix, std::string> parse_prefix(std::string_view text);

// The file parsed, or its TOML syntax error (toml++ stops at the first).
[[nodiscard]] Result<toml::table, ConfigErrors> parse_toml_file(const std::string& path);

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
  // "ADDRESS:PORT" (app/listen_address.h).
  std::optional<ListenAddress> listen_address(std::string_view table, std::string_view key);
  // One of `choices` (comma-separated in the message).
  std::optional<std::string> choice(std::string_view table, std::string_view key,
                                    std::initializer_list<std::string_view> choices);
  // Records an error (a warning) at the key's line (for checks across keys).
  void fail_at(std::string_view table, std::string_view key, const std::string& message);
  void warn_at(std::string_view table, std::string_view key, const std::string& message);
  void require(std::string_view table, std::string_view key);

  // Elements in the array of tables `name` ([[name]] sections): 0 when
  // absent, nullopt (and an error) when `name` is something else.
  [[nodiscard]] std::optional<std::size_t> array_size(std::string_view name);
  // A list of strings (e.g. local prefixes); nullopt when absent or wrong.
  std::optional<std::vector<std::string>> strings(std::string_view table, std::string_view key);
  // A list of prefixes "ADDRESS/LENGTH", parsed strictly: every bad element
  // (or one not of `family`) is an error at its own line, host bits set is
  // a warning. Only the good elements are returned.
  std::vector<ConfigPrefix> prefixes(std::string_view table, std::string_view key, AddressFamily family);

  // Unknown tables and keys are errors.
  void finish(std::initializer_list<std::string_view> known_tables);
  [[nodiscard]] bool failed() const { return !errors_.empty(); }
  // Every error, in the order of the file.
  [[nodiscard]] ConfigErrors errors() const;
  [[nodiscard]] std::vector<ConfigError> warnings() const;
  // Every key of the file with its value as TOML text (app/config_reload.h).
  [[nodiscard]] ConfigValues values() const;

 private:
  const toml::node* find(std::string_view table, std::string_view key);
  const toml::table* section(std::string_view table) const;
  void check_keys(const std::string& table, const toml::table& contents);
  void record(const toml::node* node, std::string key, std::string message, bool warning = false);

  std::string file_;
  const toml::table& root_;
  std::set<std::string> read_;
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
};

}  // namespace advpnd::app
