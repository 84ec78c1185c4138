#include "app/toml_reader.h"

#include <cmath>

namespace advpnd::app {
namespace {
std::string dotted(std::string_view table, std::string_view key) {
  return std::string(table) + "." + std::string(key);
}
}  // namespace

std::string ConfigError::to_string() const {
  // Appended piece by piece: g++-12 at -O3 reports a false -Wrestrict in
  // `":" + std::to_string(line)` (GCC bug 105329, as in db/sqlite.cpp).
  std::string text = file;
  if (line != 0) text.append(":").append(std::to_string(line));
  if (!key.empty()) text.append(": ").append(key);
  return text.append(": ").append(message);
}

void TomlReader::record(const toml::node* node, std::string key, std::string message) {
  if (error_) return;  // the first error is the one to fix first
  const std::size_t line = node != nullptr ? node->source().begin.line : 0;
  error_ = ConfigError{file_, line, std::move(key), std::move(message)};
}

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

std::size_t TomlReader::array_size(std::string_view name) {
  const toml::node* array = root_.get(name);
  if (array == nullptr) return 0;
  if (!array->is_array_of_tables()) {
    record(array, std::string(name), "must be [[" + std::string(name) + "]] sections");
    return 0;
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
