// A strict JSON (RFC 8259) reader for tests: it checks that what advpnd
// prints is valid JSON and lets tests look fields up. Not for production
// (no depth limit, recursive, throws on error).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace advpnd::test {

struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class JsonValue {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] bool is_null() const { return kind_ == Kind::Null; }
  [[nodiscard]] bool has(std::string_view key) const;
  // Object member; throws JsonError when absent or not an object.
  [[nodiscard]] const JsonValue& operator[](std::string_view key) const;
  // Array element; throws when out of range or not an array.
  [[nodiscard]] const JsonValue& operator[](std::size_t index) const;
  [[nodiscard]] std::size_t size() const;  // array elements or object members

  [[nodiscard]] bool as_bool() const;
  [[nodiscard]] std::int64_t as_int() const;  // integral numbers only
  [[nodiscard]] const std::string& as_string() const;
  [[nodiscard]] const std::vector<JsonValue>& items() const;
  [[nodiscard]] const std::vector<std::pair<std::string, JsonValue>>& members() const;

 private:
  friend class JsonParser;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  std::int64_t int_ = 0;
  bool integral_ = true;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// Parses exactly one JSON value (surrounding whitespace allowed).
[[nodiscard]] JsonValue parse_json(std::string_view text);

}  // namespace advpnd::test
