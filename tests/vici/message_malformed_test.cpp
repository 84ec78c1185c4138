// VICI decoding refuses malformed input with an error naming the field and
// its offset: truncation inside every length field and every value, frame
// length limits, nesting limits, unbalanced sections and lists, unknown
// types, trailing bytes. And the encoder refuses what charon could not
// parse (names > 255, values > 65535, packets > 512 KiB, too deep).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/test_data.h"
#include "vici/message.h"

namespace {

using advpnd::test::hex;
using namespace advpnd::vici;

// CMD_REQUEST "x" { s { k = vv  l = [ i ] } }, offsets in the comments.
const char* const kPacket =
    "00 01 78"        // 0 type, 1 name length, 2 "x"
    "01 01 73"        // 3 SECTION_START, 4 name length, 5 "s"
    "03 01 6b 0002 7676"  // 6 KEY_VALUE, 7 name length, 8 "k", 9-10 value length, 11-12 "vv"
    "04 01 6c"        // 13 LIST_START, 14 name length, 15 "l"
    "05 0001 69"      // 16 LIST_ITEM, 17-18 length, 19 "i"
    "06 02";          // 20 LIST_END, 21 SECTION_END

struct Cut {
  std::size_t prefix;
  DecodeErrc code;
  std::string_view field;
  std::size_t offset;
  std::size_t needed;
  std::size_t available;
};

TEST_CASE("vici decode: a packet cut inside each length field and each value") {
  const auto packet = hex(kPacket);
  REQUIRE(packet.size() == 22);
  REQUIRE(decode_packet(packet).ok());
  const Cut cuts[] = {
      {1, DecodeErrc::Truncated, "packet name length", 1, 1, 0},
      {2, DecodeErrc::Truncated, "packet name", 2, 1, 0},
      {4, DecodeErrc::Truncated, "section name", 4, 1, 0},
      {5, DecodeErrc::Truncated, "section name", 5, 1, 0},
      {7, DecodeErrc::Truncated, "key name", 7, 1, 0},
      {8, DecodeErrc::Truncated, "key name", 8, 1, 0},
      {9, DecodeErrc::Truncated, "key value", 9, 2, 0},
      {10, DecodeErrc::Truncated, "key value", 9, 2, 1},
      {11, DecodeErrc::Truncated, "key value", 11, 2, 0},
      {12, DecodeErrc::Truncated, "key value", 11, 2, 1},
      {14, DecodeErrc::Truncated, "list name", 14, 1, 0},
      {15, DecodeErrc::Truncated, "list name", 15, 1, 0},
      {17, DecodeErrc::Truncated, "list item", 17, 2, 0},
      {18, DecodeErrc::Truncated, "list item", 17, 2, 1},
      {19, DecodeErrc::Truncated, "list item", 19, 1, 0},
      // Cut between elements: what is open is reported.
      {6, DecodeErrc::UnclosedSection, "section end", 6, 0, 0},
      {13, DecodeErrc::UnclosedSection, "section end", 13, 0, 0},
      {16, DecodeErrc::UnclosedList, "list end", 16, 0, 0},
      {20, DecodeErrc::UnclosedList, "list end", 20, 0, 0},
      {21, DecodeErrc::UnclosedSection, "section end", 21, 0, 0},
  };
  for (const auto& cut : cuts) {
    CAPTURE(cut.prefix);
    auto decoded = decode_packet(std::span<const std::byte>(packet).first(cut.prefix));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code == cut.code);
    CHECK(decoded.error().field == cut.field);
    CHECK(decoded.error().offset == cut.offset);
    CHECK(decoded.error().needed == cut.needed);
    CHECK(decoded.error().available == cut.available);
  }
  // Cut after the name: a request with an empty message is valid.
  CHECK(decode_packet(std::span<const std::byte>(packet).first(3)).ok());
  CHECK(decode_packet({}).error().code == DecodeErrc::EmptyPacket);
}

TEST_CASE("vici decode: every prefix of a framed packet is 'incomplete', never an error or a crash") {
  auto packet = decode_packet(hex(kPacket));
  REQUIRE(packet.ok());
  auto frame = encode_frame(*packet);
  REQUIRE(frame.ok());
  for (std::size_t cut = 0; cut < frame->size(); ++cut) {
    auto decoded = decode_frame(std::span<const std::byte>(*frame).first(cut));
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->has_value());
  }
  auto whole = decode_frame(*frame);
  REQUIRE(whole.ok());
  CHECK(whole->has_value());
}

TEST_CASE("vici decode: value lengths that run past the end") {
  auto decoded = decode_message(hex("03 01 6b ffff 616263"));
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code == DecodeErrc::Truncated);
  CHECK(decoded.error().field == "key value");
  CHECK(decoded.error().offset == 5);
  CHECK(decoded.error().needed == 65535);
  CHECK(decoded.error().available == 3);
  CHECK(decoded.error().message() == "truncated: key value at offset 5: needs 65535 bytes, 3 left");

  auto item = decode_message(hex("04 01 6c 05 0100 00"));
  REQUIRE_FALSE(item.ok());
  CHECK(item.error().field == "list item");
  CHECK(item.error().needed == 256);
  CHECK(item.error().available == 1);

  auto name = decode_message(hex("01 ff 6161"));
  REQUIRE_FALSE(name.ok());
  CHECK(name.error().field == "section name");
  CHECK(name.error().needed == 255);
  CHECK(name.error().available == 2);
}

TEST_CASE("vici frames: the length prefix is checked before anything is buffered") {
  auto empty = decode_frame(hex("00000000"));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == DecodeErrc::EmptyPacket);

  auto huge = decode_frame(hex("00080001 00"));  // 512 KiB + 1
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().code == DecodeErrc::PacketTooLarge);
  CHECK(huge.error().needed == kMaxPacketSize + 1);
  CHECK(huge.error().available == kMaxPacketSize);

  auto limit = decode_frame(hex("00080000 01"));  // exactly 512 KiB: wait for the rest
  REQUIRE(limit.ok());
  CHECK_FALSE(limit->has_value());

  auto giant = decode_frame(hex("ffffffff"));
  REQUIRE_FALSE(giant.ok());
  CHECK(giant.error().code == DecodeErrc::PacketTooLarge);

  // An error inside the packet is reported at its offset in the stream.
  auto inner = decode_frame(hex("00000002 01 09"));
  REQUIRE_FALSE(inner.ok());
  CHECK(inner.error().code == DecodeErrc::UnknownElementType);
  CHECK(inner.error().offset == 5);
}

TEST_CASE("vici decode: the nesting limit") {
  auto nested = [](std::size_t depth) {
    std::string text;
    for (std::size_t i = 0; i < depth; ++i) text += "01 01 61 ";
    for (std::size_t i = 0; i < depth; ++i) text += "02 ";
    return hex(text);
  };
  CHECK(decode_message(nested(kMaxDepth)).ok());
  auto deep = decode_message(nested(kMaxDepth + 1));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code == DecodeErrc::TooDeep);
  CHECK(deep.error().offset == kMaxDepth * 3);
  CHECK(deep.error().needed == kMaxDepth + 1);
  // Far deeper input stops at the limit too (the decoder is iterative).
  std::vector<std::byte> abyss;
  for (int i = 0; i < 100000; ++i) {
    abyss.push_back(std::byte{1});
    abyss.push_back(std::byte{0});
  }
  CHECK(decode_message(abyss).error().code == DecodeErrc::TooDeep);

  Section section;
  for (std::size_t i = 0; i < kMaxDepth; ++i) section = Section().add_section("a", section);
  CHECK(encode_message(section).ok());
  section = Section().add_section("a", section);
  auto refused = encode_message(section);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == EncodeErrc::TooDeep);
}

TEST_CASE("vici decode: sections and lists must balance; lists hold only items") {
  struct Case {
    const char* bytes;
    DecodeErrc code;
    std::size_t offset;
  };
  const Case cases[] = {
      {"02", DecodeErrc::UnbalancedSection, 0},
      {"01 01 61 02 02", DecodeErrc::UnbalancedSection, 4},
      {"05 0001 61", DecodeErrc::ItemOutsideList, 0},
      {"06", DecodeErrc::ItemOutsideList, 0},
      {"04 01 6c 03 01 6b 0000 06", DecodeErrc::ElementInsideList, 3},
      {"04 01 6c 01 01 73 02 06", DecodeErrc::ElementInsideList, 3},
      {"04 01 6c 04 01 6d 06 06", DecodeErrc::ElementInsideList, 3},
      {"01 01 73 04 01 6c 02", DecodeErrc::ElementInsideList, 6},
      {"00", DecodeErrc::UnknownElementType, 0},
      {"07", DecodeErrc::UnknownElementType, 0},
      {"04 01 6c ff", DecodeErrc::UnknownElementType, 3},
      {"01 01 73", DecodeErrc::UnclosedSection, 3},
      {"04 01 6c 05 0000", DecodeErrc::UnclosedList, 6},
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes);
    auto decoded = decode_message(hex(c.bytes));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code == c.code);
    CHECK(decoded.error().offset == c.offset);
    CHECK_FALSE(decoded.error().message().empty());
  }
}

TEST_CASE("vici decode: packet types, names and trailing bytes") {
  auto unknown = decode_packet(hex("08"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == DecodeErrc::UnknownPacketType);
  CHECK(unknown.error().needed == 8);

  auto confirm = decode_packet(hex("05 00"));
  REQUIRE_FALSE(confirm.ok());
  CHECK(confirm.error().code == DecodeErrc::TrailingBytes);
  CHECK(confirm.error().offset == 1);

  auto registration = decode_packet(hex("03 01 61 03"));
  REQUIRE_FALSE(registration.ok());
  CHECK(registration.error().code == DecodeErrc::TrailingBytes);
  CHECK(registration.error().offset == 3);

  auto name = decode_packet(hex("07 05 616263"));
  REQUIRE_FALSE(name.ok());
  CHECK(name.error().field == "packet name");
  CHECK(name.error().needed == 5);
  CHECK(name.error().available == 3);

  // A named type with an empty name is well formed.
  auto empty_name = decode_packet(hex("07 00"));
  REQUIRE(empty_name.ok());
  CHECK(empty_name->name.empty());
}

TEST_CASE("vici encode: refuses what the wire cannot carry") {
  const std::string long_name(256, 'n');
  CHECK(encode_message(Message().add(long_name, "v")).error().code == EncodeErrc::NameTooLong);
  CHECK(encode_message(Message().add_list(long_name, {})).error().code == EncodeErrc::NameTooLong);
  CHECK(encode_message(Message().add_section(long_name, {})).error().code == EncodeErrc::NameTooLong);
  CHECK(encode_frame(Packet{PacketType::Event, long_name, {}}).error().code == EncodeErrc::NameTooLong);
  CHECK(encode_message(Message().add(std::string(255, 'n'), "v")).ok());

  const std::string big_value(65536, 'v');
  CHECK(encode_message(Message().add("k", big_value)).error().code == EncodeErrc::ValueTooLong);
  CHECK(encode_message(Message().add_list("l", {big_value})).error().code == EncodeErrc::ValueTooLong);
  CHECK(encode_message(Message().add("k", std::string(65535, 'v'))).ok());

  // A CMD_RESPONSE of exactly 512 KiB: type + 8 key/values of 5 + v bytes each.
  Message full;
  for (int i = 0; i < 7; ++i) full.add("k", std::string(65535, 'v'));
  full.add("k", std::string(65502, 'v'));
  auto at_limit = encode_frame(Packet{PacketType::CmdResponse, "", full});
  REQUIRE(at_limit.ok());
  CHECK(at_limit->size() == kMaxPacketSize + 4);
  CHECK(decode_frame(*at_limit).ok());
  full.add("k", "");
  CHECK(encode_frame(Packet{PacketType::CmdResponse, "", full}).error().code == EncodeErrc::PacketTooLarge);

  CHECK(encode_frame(Packet{PacketType::EventConfirm, "x", {}}).error().code == EncodeErrc::UnexpectedName);
  CHECK(encode_frame(Packet{PacketType::EventRegister, "x", Message().add("k", "v")}).error().code ==
        EncodeErrc::UnexpectedMessage);
}

}  // namespace
