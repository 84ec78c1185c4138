// VICI codec golden vectors. Every byte sequence here was written by hand
// from strongSwan's vici README ("Transport protocol", "Packet layer",
// "Message format" and its "Encoding example"), not produced by the encoder.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/test_data.h"
#include "vici/message.h"

namespace {

using advpnd::test::hex;
using advpnd::test::to_hex;
using namespace advpnd::vici;

std::vector<std::byte> encode(const Packet& packet) {
  auto bytes = encode_frame(packet);
  REQUIRE_MESSAGE(bytes.ok(), bytes.error().message());
  return *bytes;
}

Packet decode(const std::vector<std::byte>& frame) {
  auto decoded = decode_frame(frame);
  REQUIRE_MESSAGE(decoded.ok(), decoded.error().message());
  REQUIRE(decoded->has_value());
  CHECK((*decoded)->size == frame.size());
  return (*decoded)->packet;
}

// The README's example: key1 = value1, section1 { sub-section { key2 = value2 } list1 = [item1, item2] }.
const char* const kReadmeExample =
    "03 04 6b657931 0006 76616c756531"          // KEY_VALUE key1 = value1
    "01 08 73656374696f6e31"                    // SECTION_START section1
    "01 0b 7375622d73656374696f6e"              // SECTION_START sub-section
    "03 04 6b657932 0006 76616c756532"          // KEY_VALUE key2 = value2
    "02"                                        // SECTION_END
    "04 05 6c69737431"                          // LIST_START list1
    "05 0005 6974656d31"                        // LIST_ITEM item1
    "05 0005 6974656d32"                        // LIST_ITEM item2
    "06"                                        // LIST_END
    "02";                                       // SECTION_END

Message readme_example() {
  Message message;
  message.add("key1", "value1");
  message.add_section("section1", Section()
                                      .add_section("sub-section", Section().add("key2", "value2"))
                                      .add_list("list1", {"item1", "item2"}));
  return message;
}

TEST_CASE("vici message: the README encoding example, both ways") {
  auto encoded = encode_message(readme_example());
  REQUIRE(encoded.ok());
  CHECK(to_hex(*encoded) == to_hex(hex(kReadmeExample)));

  auto decoded = decode_message(hex(kReadmeExample));
  REQUIRE_MESSAGE(decoded.ok(), decoded.error().message());
  CHECK(*decoded == readme_example());
  CHECK(decoded->value_or("key1") == "value1");
  const Section* section1 = decoded->find_section("section1");
  REQUIRE(section1 != nullptr);
  CHECK(section1->find_section("sub-section")->value_or("key2") == "value2");
  REQUIRE(section1->find_list("list1") != nullptr);
  CHECK(*section1->find_list("list1") == std::vector<std::string>{"item1", "item2"});
  CHECK(to_text(*decoded) == "{key1=value1 section1{sub-section{key2=value2} list1=[item1, item2]}}");
}

TEST_CASE("vici packet: CMD_REQUEST 'version' with an empty message") {
  // length 9 = type + name length + "version"
  const auto frame = hex("00000009 00 07 76657273696f6e");
  CHECK(to_hex(encode(Packet{PacketType::CmdRequest, "version", {}})) == to_hex(frame));
  const Packet packet = decode(frame);
  CHECK(packet.type == PacketType::CmdRequest);
  CHECK(packet.name == "version");
  CHECK(packet.message.empty());
}

TEST_CASE("vici packet: CMD_RESPONSE { success = yes } (unnamed)") {
  const auto frame = hex("0000000f 01 03 07 73756363657373 0003 796573");
  Packet response{PacketType::CmdResponse, "", Message().add("success", "yes")};
  CHECK(to_hex(encode(response)) == to_hex(frame));
  const Packet packet = decode(frame);
  CHECK(packet == response);
  CHECK(packet.message.find_bool("success"));
}

TEST_CASE("vici packet: EVENT_REGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, CMD_UNKNOWN") {
  CHECK(to_hex(encode(Packet{PacketType::EventRegister, "list-sa", {}})) ==
        to_hex(hex("00000009 03 07 6c6973742d7361")));
  CHECK(to_hex(encode(Packet{PacketType::EventUnregister, "list-sa", {}})) ==
        to_hex(hex("00000009 04 07 6c6973742d7361")));
  CHECK(to_hex(encode(Packet{PacketType::EventConfirm, "", {}})) == to_hex(hex("00000001 05")));
  CHECK(to_hex(encode(Packet{PacketType::EventUnknown, "", {}})) == to_hex(hex("00000001 06")));
  CHECK(to_hex(encode(Packet{PacketType::CmdUnknown, "", {}})) == to_hex(hex("00000001 02")));
  CHECK(decode(hex("00000001 05")).type == PacketType::EventConfirm);
  CHECK(decode(hex("00000009 03 07 6c6973742d7361")).name == "list-sa");
}

TEST_CASE("vici packet: an EVENT with nested sections and a list (list-sa shape)") {
  // EVENT "list-sa" { p { state = UP child-sas { c { local-ts = [ a ] } } } }
  const auto frame = hex(
      "00000037 07 07 6c6973742d7361"
      "01 01 70"                                  // SECTION_START p
      "03 05 7374617465 0002 5550"               // state = UP
      "01 09 6368696c642d736173"                 // SECTION_START child-sas
      "01 01 63"                                  // SECTION_START c
      "04 08 6c6f63616c2d7473"                   // LIST_START local-ts
      "05 0001 61"                                // LIST_ITEM a
      "06 02 02 02");                             // LIST_END, 3 x SECTION_END
  Message message;
  message.add_section(
      "p", Section().add("state", "UP").add_section(
               "child-sas", Section().add_section("c", Section().add_list("local-ts", {"a"}))));
  const Packet event{PacketType::Event, "list-sa", message};
  CHECK(to_hex(encode(event)) == to_hex(frame));
  CHECK(decode(frame) == event);
}

TEST_CASE("vici message: empty values, empty lists, empty sections and binary bytes survive") {
  Message message;
  message.add("empty", "");
  message.add_list("none", {});
  message.add_section("hollow", Section());
  message.add("binary", std::string("\x00\xff\x01", 3));
  message.add_list("items", {"", std::string("\x00", 1)});
  auto bytes = encode_message(message);
  REQUIRE(bytes.ok());
  CHECK(to_hex(*bytes) == to_hex(hex("03 05 656d707479 0000"
                                      "04 04 6e6f6e65 06"
                                      "01 06 686f6c6c6f77 02"
                                      "03 06 62696e617279 0003 00ff01"
                                      "04 05 6974656d73 05 0000 05 0001 00 06")));
  auto decoded = decode_message(*bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == message);
  CHECK(to_text(*decoded) == "{empty= none=[] hollow{} binary=\\x00\\xff\\x01 items=[, \\x00]}");
}

TEST_CASE("vici message: order is kept, look-ups take the first of a name and kind") {
  Message message;
  message.add("b", "1").add("a", "2").add_list("a", {"x"}).add("a", "3");
  auto decoded = decode_message(*encode_message(message));
  REQUIRE(decoded.ok());
  REQUIRE(decoded->entries().size() == 4);
  CHECK(decoded->entries()[0].name == "b");
  CHECK(decoded->value_or("a") == "2");
  CHECK(decoded->find_list("a") != nullptr);
  CHECK(decoded->find_section("a") == nullptr);
  CHECK(decoded->value_or("missing", "fallback") == "fallback");
}

TEST_CASE("vici message: numbers and booleans as charon writes them") {
  Message message;
  message.add("n", "18446744073709551615").add("big", "18446744073709551616").add("neg", "-1").add("mixed", "12a");
  message.add("yes", "yes").add("no", "no");
  CHECK(message.find_number("n") == 18446744073709551615ull);
  CHECK_FALSE(message.find_number("big").has_value());
  CHECK_FALSE(message.find_number("neg").has_value());
  CHECK_FALSE(message.find_number("mixed").has_value());
  CHECK_FALSE(message.find_number("absent").has_value());
  CHECK(message.find_bool("yes"));
  CHECK_FALSE(message.find_bool("no"));
  CHECK_FALSE(message.find_bool("absent"));
}

TEST_CASE("vici frames: a stream split anywhere yields the same packets") {
  const auto one = hex("00000009 00 07 76657273696f6e");
  const auto two = hex("0000000f 01 03 07 73756363657373 0003 796573");
  std::vector<std::byte> stream = one;
  stream.insert(stream.end(), two.begin(), two.end());
  for (std::size_t cut = 0; cut < one.size(); ++cut) {
    auto partial = decode_frame(std::span<const std::byte>(stream).first(cut));
    REQUIRE(partial.ok());
    CHECK_FALSE(partial->has_value());
  }
  auto first = decode_frame(stream);
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->size == one.size());
  CHECK((*first)->packet.name == "version");
  auto second = decode_frame(std::span<const std::byte>(stream).subspan((*first)->size));
  REQUIRE(second.ok());
  REQUIRE(second->has_value());
  CHECK((*second)->packet.type == PacketType::CmdResponse);
}

TEST_CASE("vici names and limits: to_string, has_name, has_message") {
  CHECK(to_string(PacketType::CmdRequest) == "CMD_REQUEST");
  CHECK(to_string(PacketType::Event) == "EVENT");
  for (auto type :
       {PacketType::CmdRequest, PacketType::EventRegister, PacketType::EventUnregister, PacketType::Event}) {
    CHECK(has_name(type));
  }
  for (auto type :
       {PacketType::CmdResponse, PacketType::CmdUnknown, PacketType::EventConfirm, PacketType::EventUnknown}) {
    CHECK_FALSE(has_name(type));
  }
  CHECK(has_message(PacketType::CmdRequest));
  CHECK(has_message(PacketType::CmdResponse));
  CHECK(has_message(PacketType::Event));
  CHECK_FALSE(has_message(PacketType::EventRegister));
  CHECK(kMaxPacketSize == 524288);
}

}  // namespace
