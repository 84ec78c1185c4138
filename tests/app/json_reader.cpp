#include "tests/app/json_reader.h"

#include <cstdlib>

namespace advpnd::test {

namespace {
[[noreturn]] void throw_error(const std::string& what) { throw JsonError(what); }
}  // namespace

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  JsonValue parse_document() {
    JsonValue value = parse_value();
    skip_space();
    if (at_ != text_.size()) fail("trailing characters");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw_error("JSON: " + what + " at offset " + std::to_string(at_));
  }
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  char peek() {
    if (at_ >= text_.size()) fail("unexpected end");
    return text_[at_];
  }
  void expect(std::string_view token) {
    if (text_.substr(at_, token.size()) != token) fail("expected " + std::string(token));
    at_ += token.size();
  }

  JsonValue parse_value() {
    skip_space();
    JsonValue value;
    switch (peek()) {
      case '{':
        parse_object(value);
        break;
      case '[':
        parse_array(value);
        break;
      case '"':
        value.kind_ = JsonValue::Kind::String;
        value.string_ = parse_string();
        break;
      case 't':
        expect("true");
        value.kind_ = JsonValue::Kind::Bool;
        value.bool_ = true;
        break;
      case 'f':
        expect("false");
        value.kind_ = JsonValue::Kind::Bool;
        break;
      case 'n':
        expect("null");
        break;
      default:
        parse_number(value);
    }
    return value;
  }

  void parse_object(JsonValue& value) {
    value.kind_ = JsonValue::Kind::Object;
    expect("{");
    skip_space();
    if (peek() == '}') {
      ++at_;
      return;
    }
    for (;;) {
      skip_space();
      if (peek() != '"') fail("expected a key");
      std::string key = parse_string();
      skip_space();
      expect(":");
      value.members_.emplace_back(std::move(key), parse_value());
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect("}");
      return;
    }
  }

  void parse_array(JsonValue& value) {
    value.kind_ = JsonValue::Kind::Array;
    expect("[");
    skip_space();
    if (peek() == ']') {
      ++at_;
      return;
    }
    for (;;) {
      value.items_.push_back(parse_value());
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect("]");
      return;
    }
  }

  bool at_digit() const { return at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'; }
  void digits() {
    if (!at_digit()) fail("expected a digit");
    while (at_digit()) ++at_;
  }

  // RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  void parse_number(JsonValue& value) {
    const std::size_t start = at_;
    if (peek() == '-') ++at_;
    if (at_digit() && text_[at_] == '0') {
      ++at_;
      if (at_digit()) fail("leading zero");
    } else {
      digits();
    }
    bool integral = true;
    if (at_ < text_.size() && text_[at_] == '.') {
      integral = false;
      ++at_;
      digits();
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      integral = false;
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      digits();
    }
    value.kind_ = JsonValue::Kind::Number;
    value.integral_ = integral;
    if (integral) value.int_ = std::strtoll(std::string(text_.substr(start, at_ - start)).c_str(), nullptr, 10);
  }

  unsigned parse_hex4() {
    if (at_ + 4 > text_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[at_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  void parse_escape(std::string& out) {
    const char c = peek();
    ++at_;
    switch (c) {
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case '/':
        out += '/';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        break;
      default:
        fail("bad escape");
    }
    unsigned cp = parse_hex4();
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      expect("\\u");
      const unsigned low = parse_hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      fail("lone low surrogate");
    }
    append_utf8(out, cp);
  }

  std::string parse_string() {
    expect("\"");
    std::string out;
    for (;;) {
      const char c = peek();
      ++at_;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("unescaped control character");
      if (c == '\\') {
        parse_escape(out);
      } else {
        out += c;
      }
    }
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

bool JsonValue::has(std::string_view key) const {
  if (kind_ != Kind::Object) return false;
  for (const auto& [name, value] : members_) {
    if (name == key) return true;
  }
  return false;
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
  if (kind_ != Kind::Object) throw_error("JSON: not an object, looking for " + std::string(key));
  for (const auto& [name, value] : members_) {
    if (name == key) return value;
  }
  throw_error("JSON: no member " + std::string(key));
}

const JsonValue& JsonValue::operator[](std::size_t index) const {
  if (kind_ != Kind::Array || index >= items_.size()) throw_error("JSON: no element " + std::to_string(index));
  return items_[index];
}

std::size_t JsonValue::size() const { return kind_ == Kind::Array ? items_.size() : members_.size(); }

bool JsonValue::as_bool() const {
  if (kind_ != Kind::Bool) throw_error("JSON: not a bool");
  return bool_;
}

std::int64_t JsonValue::as_int() const {
  if (kind_ != Kind::Number || !integral_) throw_error("JSON: not an integer");
  return int_;
}

const std::string& JsonValue::as_string() const {
  if (kind_ != Kind::String) throw_error("JSON: not a string");
  return string_;
}

const std::vector<JsonValue>& JsonValue::items() const {
  if (kind_ != Kind::Array) throw_error("JSON: not an array");
  return items_;
}

const std::vector<std::pair<std::string, JsonValue>>& JsonValue::members() const {
  if (kind_ != Kind::Object) throw_error("JSON: not an object");
  return members_;
}

JsonValue parse_json(std::string_view text) { return JsonParser(text).parse_document(); }

}  // namespace advpnd::test
