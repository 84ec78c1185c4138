// A small streaming JSON writer (RFC 8259) for the tool's JSON-lines output
// and, later, the control socket. No DOM: values are appended as they are
// written, commas and nesting are tracked, strings are escaped.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace advpnd::app {

// Appends `text` as a JSON string, quotes included (RFC 8259 section 7):
// '"' and '\\' escaped, U+0000-U+001F as \b \f \n \r \t or \u00XX, DEL as
// \u007f (harmless, and keeps terminals sane). JSON text must be UTF-8
// (RFC 8259 section 8.1), but wire data (a password, say) need not be: each
// byte that is not part of a well-formed UTF-8 sequence becomes U+FFFD.
void append_json_string(std::string& out, std::string_view text);
[[nodiscard]] std::string json_string(std::string_view text);

// Usage: json.begin_object().field("frame", 1).key("cies").begin_array()...
// The caller keeps the structure well-formed (a key before each value in an
// object, containers closed in order); the writer adds the separators.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& value(T number) {
    if constexpr (std::is_signed_v<T>) {
      return raw(std::to_string(static_cast<std::int64_t>(number)));
    } else {
      return raw(std::to_string(static_cast<std::uint64_t>(number)));
    }
  }

  template <class T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  [[nodiscard]] const std::string& str() const { return out_; }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  JsonWriter& raw(std::string_view token);
  void before_value();
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);

  std::string out_;
  std::vector<bool> has_items_;  // one per open container: a comma is needed before the next item
  bool after_key_ = false;
};

}  // namespace advpnd::app
