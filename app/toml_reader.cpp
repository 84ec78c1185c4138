#include "app/toml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

namespace advpnd::app {
namespace {
std::string dotted(std::string_view table, std::string_view key) { return std::string(table) + "." + std::string(key); }
}  // namespace

std::string ConfigError::to_string() const {
  // Appended piece by piece: g++-12 at -O3 reports a false -Wrestrict in
  // `":" + std::to_string(line)` (GCC bug 105329, as in db/sqlite.cpp).
  std::string text = file;
  if (line != 0) text.append(":").append(std::to_string(line));
  if (!key.empty()) text.append(": ").append(key);
  return text.append(warning ? ": warning: " : ": ").append(message);
}

std::string ConfigErrors::to_string() const {
  std::string text;
  for (const ConfigError& error : errors) text += error.to_string() + "\n";
  return text;
}

Result<toml::table, ConfigErrors> parse_toml_file(const std::string& path) {
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    // toml++ reports syntax errors by exception; they stop here as values.
    return fail(ConfigErrors{{ConfigError{path, e.source().begin.line, "", std::string(e.description())}}});
  }
}

Result<ConfigPrefix, std::string> parse_prefix(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail(std::string("has no /LENGTH (e.g. 192.168.2.0/24)"));
  const std::string_view address_text = text.substr(0, slash);
  const std::string_view length_text = text.substr(slash + 1);
  const auto address = IpAddress::parse(address_text);
  if (!address) return fail("\"" + std::string(address_text) + "\" is not an IPv4 or IPv6 address");
  unsigned length = 0;
  const char* end = length_text.data() + length_text.size();
  const auto [stop, problem] = std::from_chars(length_text.data(), end, length);
  // from_chars stops after "24" in "24abc": the whole rest must be the number.
  if (length_text.empty() || problem != std::errc{} || stop != end) {
    return fail("\"" + std::string(length_text) + "\" is not a prefix length");
  }
  if (length > address->bit_width()) {
    return fail("prefix length " + std::to_string(length) + " is longer than " + std::to_string(address->bit_width()));
  }
  return ConfigPrefix{*address, static_cast<std::uint8_t>(length)};
}

void TomlReader::record(const toml::node* node, std::string key, std::string message, bool warning) {
  const std::size_t line = node != nullptr ? node->source().begin.line : 0;
  ConfigError entry{file_, line, std::move(key), std::move(message), warning};
  std::vector<ConfigError>& list = warning ? warnings_ : errors_;
  // One fact once: a key can be found wrong by two checks that say the same.
  for (const ConfigError& seen : list) {
    if (seen.key == entry.key && seen.message == entry.message) return;
  }
  list.push_back(std::move(entry));
}

namespace {
// By line; those about something absent from the file (line 0) last.
std::vector<ConfigError> in_file_order(std::vector<ConfigError> list) {
  const auto rank = [](const ConfigError& e) { return e.line == 0 ? std::numeric_limits<std::size_t>::max() : e.line; };
  std::stable_sort(list.begin(), list.end(),
                   [&](const ConfigError& a, const ConfigError& b) { return rank(a) < rank(b); });
  return list;
}
}  // namespace

ConfigErrors TomlReader::errors() const { return ConfigErrors{in_file_order(errors_)}; }
std::vector<ConfigError> TomlReader::warnings() const { return in_file_order(warnings_); }

const toml::table* TomlReader::section(std::string_view table) const {
  const auto bracket = table.find('[');
  if (bracket == std::string_view::npos) {
    const toml::node* node = root_.get(table);
    return node != nullptr ? node->as_table() : nullptr;
  }
  const toml::node* array = root_.get(table.substr(0, bracket));
  if (array == nullptr || !array->is_array()) return nullptr;
  const std::size_t index = std::stoul(std::string(table.substr(bracket + 1)));
  const toml::node* element = array->as_array()->get(index);
  return element != nullptr ? element->as_table() : nullptr;
}

const toml::node* TomlReader::find(std::string_view table, std::string_view key) {
  read_.insert(dotted(table, key));
  const toml::table* contents = section(table);
  return contents != nullptr ? contents->get(key) : nullptr;
}

std::optional<std::size_t> TomlReader::array_size(std::string_view name) {
  const toml::node* array = root_.get(name);
  if (array == nullptr) return 0;
  if (!array->is_array_of_tables()) {
    record(array, std::string(name), "must be [[" + std::string(name) + "]] sections");
    return std::nullopt;
  }
  return array->as_array()->size();
}

std::optional<std::vector<std::string>> TomlReader::strings(std::string_view table, std::string_view key) {
  const toml::node* node = find(table, key);
  if (node == nullptr) return std::nullopt;
  std::vector<std::string> out;
  const toml::array* list = node->as_array();
  if (list != nullptr) {
    for (const toml::node& item : *list) {
      if (!item.is_string()) break;
      out.push_back(*item.value<std::string>());
    }
  }
  if (list == nullptr || out.size() != list->size()) {
    record(node, dotted(table, key), "must be a list of strings");
    return std::nullopt;
  }
  return out;
}

void TomlReader::fail_at(std::string_view table, std::string_view key, const std::string& message) {
  const toml::node* node = find(table, key);
  if (node == nullptr) node = section(table);
  record(node, dotted(table, key), message);
}

void TomlReader::warn_at(std::string_view table, std::string_view key, const std::string& message) {
  const toml::node* node = find(table, key);
  if (node == nullptr) node = section(table);
  record(node, dotted(table, key), message, true);
}

std::vector<ConfigPrefix> TomlReader::prefixes(std::string_view table, std::string_view key, AddressFamily family) {
  std::vector<ConfigPrefix> out;
  if (!strings(table, key)) return out;
  const toml::array& list = *find(table, key)->as_array();
  for (const toml::node& item : list) {
    const std::string text = *item.value<std::string>();
    auto prefix = parse_prefix(text);
    if (!prefix) {
      record(&item, dotted(table, key), "\"" + text + "\": " + prefix.error());
      continue;
    }
    if (prefix->address.family() != family) {
      record(&item, dotted(table, key), "\"" + text + "\": " + kOnlyIpv4Overlay);
      continue;
    }
    const IpAddress network = prefix->address.masked(prefix->length);
    if (network != prefix->address) {
      record(
          &item, dotted(table, key),
          "\"" + text + "\" has host bits set: it means " + network.to_string() + "/" + std::to_string(prefix->length),
          true);
    }
    out.push_back(ConfigPrefix{network, prefix->length});
  }
  return out;
}

void TomlReader::require(std::string_view table, std::string_view key) {
  if (find(table, key) == nullptr) {
    record(section(table), dotted(table, key), "required key is missing");
  }
}

std::optional<std::int64_t> TomlReader::integer(std::string_view table, std::string_view key, std::int64_t min,
                                                std::int64_t max) {
  const toml::node* node = find(table, key);
  if (node == nullptr) return std::nullopt;
  const auto value = node->value<std::int64_t>();
  if (!node->is_integer() || !value) {
    record(node, dotted(table, key), "must be an integer");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    record(node, dotted(table, key),
           "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " + std::to_string(*value));
    return std::nullopt;
  }
  return value;
}

std::optional<double> TomlReader::number(std::string_view table, std::string_view key, double min, double max) {
  const toml::node* node = find(table, key);
  if (node == nullptr) return std::nullopt;
  const auto value = node->value<double>();
  if (!(node->is_number()) || !value || !std::isfinite(*value)) {
    record(node, dotted(table, key), "must be a number");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    record(node, dotted(table, key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> TomlReader::boolean(std::string_view table, std::string_view key) {
  const toml::node* node = find(table, key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_boolean()) {
    record(node, dotted(table, key), "must be true or false");
    return std::nullopt;
  }
  return node->value<bool>();
}

std::optional<std::string> TomlReader::string(std::string_view table, std::string_view key) {
  const toml::node* node = find(table, key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_string()) {
    record(node, dotted(table, key), "must be a string");
    return std::nullopt;
  }
  return node->value<std::string>();
}

std::optional<IpAddress> TomlReader::address(std::string_view table, std::string_view key) {
  const auto text = string(table, key);
  if (!text) return std::nullopt;
  const auto parsed = IpAddress::parse(*text);
  if (!parsed) {
    record(find(table, key), dotted(table, key), "\"" + *text + "\" is not an IPv4 or IPv6 address");
  }
  return parsed;
}

std::optional<ListenAddress> TomlReader::listen_address(std::string_view table, std::string_view key) {
  const auto text = string(table, key);
  if (!text) return std::nullopt;
  auto parsed = parse_listen_address(*text);
  if (!parsed) {
    record(find(table, key), dotted(table, key), "\"" + *text + "\": " + parsed.error());
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::string> TomlReader::choice(std::string_view table, std::string_view key,
                                              std::initializer_list<std::string_view> choices) {
  auto text = string(table, key);
  if (!text) return std::nullopt;
  std::string allowed;
  for (std::string_view c : choices) {
    if (*text == c) return text;
    allowed += (allowed.empty() ? "" : ", ") + std::string(c);
  }
  record(find(table, key), dotted(table, key), "\"" + *text + "\" is not one of: " + allowed);
  return std::nullopt;
}

ConfigValues TomlReader::values() const {
  ConfigValues out;
  const auto add_table = [&out](const std::string& table, const toml::table& contents) {
    for (const auto& [key, value] : contents) {
      std::ostringstream text;
      value.visit([&text](const auto& node) { text << node; });
      out[dotted(table, key.str())] = text.str();
    }
  };
  for (const auto& [name, node] : root_) {
    const std::string table(name.str());
    if (node.is_table()) {
      add_table(table, *node.as_table());
    } else if (node.is_array_of_tables()) {
      const toml::array& elements = *node.as_array();
      for (std::size_t i = 0; i < elements.size(); ++i) {
        add_table(table + "[" + std::to_string(i) + "]", *elements.get(i)->as_table());
      }
    }
  }
  return out;
}

void TomlReader::check_keys(const std::string& table, const toml::table& contents) {
  for (const auto& [key, value] : contents) {
    if (read_.count(dotted(table, key.str())) == 0) record(&value, dotted(table, key.str()), "unknown key");
  }
}

void TomlReader::finish(std::initializer_list<std::string_view> known_tables) {
  for (const auto& [name, node] : root_) {
    const std::string table(name.str());
    bool known = false;
    for (std::string_view k : known_tables) known = known || k == table;
    if (!known) {
      record(&node, table, "unknown section");
    } else if (node.is_table()) {
      check_keys(table, *node.as_table());
    } else if (node.is_array_of_tables()) {
      const toml::array& elements = *node.as_array();
      for (std::size_t i = 0; i < elements.size(); ++i) {
        check_keys(table + "[" + std::to_string(i) + "]", *elements.get(i)->as_table());
      }
    } else {
      record(&node, table, "must be a table");
    }
  }
}

}  // namespace advpnd::app
