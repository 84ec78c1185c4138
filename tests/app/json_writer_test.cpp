// app/json.h: RFC 8259 string escaping and the streaming writer's structure.
#include <doctest/doctest.h>

#include "app/json.h"
#include "tests/app/json_reader.h"

namespace advpnd::app {
namespace {

TEST_CASE("strings: quotes, backslashes and control characters are escaped (RFC 8259 7)") {
  CHECK(json_string("") == R"("")");
  CHECK(json_string("plain text") == R"("plain text")");
  CHECK(json_string("say \"hi\"") == R"("say \"hi\"")");
  CHECK(json_string("C:\\path") == R"("C:\\path")");
  CHECK(json_string("a/b") == R"("a/b")");  // '/' may stay as it is
  CHECK(json_string("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(json_string(std::string_view("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(json_string("\x7f") == R"("\u007f")");
  CHECK(json_string(" ~") == R"(" ~")");
}

TEST_CASE("strings: UTF-8 passes through, invalid bytes become U+FFFD") {
  CHECK(json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");                     // é
  CHECK(json_string("\xe2\x82\xac") == "\"\xe2\x82\xac\"");                   // €
  CHECK(json_string("\xf0\x9f\x94\x91") == "\"\xf0\x9f\x94\x91\"");           // U+1F511
  CHECK(json_string("\xff") == R"("\ufffd")");                                // never valid
  CHECK(json_string("\xc3") == R"("\ufffd")");                                // cut short
  CHECK(json_string("\xc0\xaf") == R"("\ufffd\ufffd")");                      // overlong '/'
  CHECK(json_string("\xe0\x80\xaf") == R"("\ufffd\ufffd\ufffd")");            // overlong
  CHECK(json_string("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");            // UTF-16 surrogate
  CHECK(json_string("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  CHECK(json_string("a\x80z") == R"("a\ufffdz")");                            // lone continuation
}

TEST_CASE("every byte value gives a string a strict parser reads back") {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string encoded = json_string(all);
  const test::JsonValue parsed = test::parse_json(encoded);
  const std::string& decoded = parsed.as_string();
  // ASCII survives exactly; each of the 128 high bytes (not valid UTF-8 on
  // its own) is one U+FFFD (3 bytes of UTF-8).
  CHECK(decoded.substr(0, 128) == all.substr(0, 128));
  CHECK(decoded.size() == 128 + 128 * 3);
}

TEST_CASE("objects and arrays: separators and nesting") {
  JsonWriter json;
  json.begin_object();
  json.field("frame", 1);
  json.field("ok", true);
  json.field("bad", false);
  json.field("name", "resolution-request");
  json.field("negative", -5);
  json.field("big", std::uint64_t{4294967295});
  json.key("nothing").null();
  json.key("empty").begin_array().end_array();
  json.key("empty_object").begin_object().end_object();
  json.key("list").begin_array();
  json.value(1).value("two");
  json.begin_object().field("k", std::uint8_t{255}).end_object();
  json.begin_array().value(3).end_array();
  json.end_array();
  json.end_object();
  CHECK(json.str() == R"({"frame":1,"ok":true,"bad":false,"name":"resolution-request","negative":-5,"big":4294967295,)"
                      R"("nothing":null,"empty":[],"empty_object":{},"list":[1,"two",{"k":255},[3]]})");

  const test::JsonValue parsed = test::parse_json(json.str());
  CHECK(parsed["frame"].as_int() == 1);
  CHECK(parsed["list"][2]["k"].as_int() == 255);
  CHECK(parsed["nothing"].is_null());
}

TEST_CASE("keys are escaped too, and writers are independent") {
  JsonWriter a;
  a.begin_object().field("we\"ird\n", "v").end_object();
  CHECK(a.str() == R"({"we\"ird\n":"v"})");
  JsonWriter b;
  b.begin_array().value(std::int64_t{-9223372036854775807 - 1}).end_array();
  CHECK(b.take() == "[-9223372036854775808]");
}

TEST_CASE("the test reader is strict") {
  CHECK_THROWS_AS((void)test::parse_json("{\"a\":1,}"), test::JsonError);
  CHECK_THROWS_AS((void)test::parse_json("[01]"), test::JsonError);
  CHECK_THROWS_AS((void)test::parse_json("\"a\nb\""), test::JsonError);
  CHECK_THROWS_AS((void)test::parse_json("{} x"), test::JsonError);
  CHECK(test::parse_json(" [1.5e3, -0, \"\\u00e9\\ud83d\\udd11\"] ")[2].as_string() == "\xc3\xa9\xf0\x9f\x94\x91");
}

}  // namespace
}  // namespace advpnd::app
