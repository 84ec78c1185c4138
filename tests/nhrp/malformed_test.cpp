// Malformed field values (NHRP-WIRE.md 2, 4): version, type, address family,
// type/length bytes, address lengths; the DecodeErrc of each, the Error
// Indication code it maps to (codec.h, RFC 2332 5.2.7) and the message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <set>
#include <string>
#include <string_view>

#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

constexpr DecodeErrc kAllErrcs[] = {
    DecodeErrc::Truncated,        DecodeErrc::PacketSizeTooSmall,       DecodeErrc::PacketSizeExceedsData,
    DecodeErrc::UnsupportedVersion, DecodeErrc::UnknownPacketType,      DecodeErrc::UnsupportedAddressFamily,
    DecodeErrc::BadAddressLength, DecodeErrc::BadTypeLength,            DecodeErrc::BadExtensionOffset,
    DecodeErrc::BadCie,           DecodeErrc::BadExtension,             DecodeErrc::ChecksumMismatch,
};

bool one_of(DecodeErrc code, std::initializer_list<DecodeErrc> allowed) {
  return std::find(allowed.begin(), allowed.end(), code) != allowed.end();
}

// Sets one byte (or a 16-bit field) of a vector, reseals the checksum, and
// expects `code` for the field at `offset`, with the value in the message.
void expect_u8(std::string_view vector, std::size_t at, std::uint8_t value, DecodeErrc code,
               std::string_view field_part) {
  Bytes m = bytes(vector);
  put_u8(m, at, value);
  reseal(m);
  INFO("byte ", at, " = ", unsigned{value});
  const auto e = refused(m);
  REQUIRE(e.has_value());
  CHECK(e->code == code);
  CHECK(e->offset == at);
  CHECK(e->field.find(field_part) != std::string_view::npos);
  // With the checksum verified the outcome is the same (the packet is resealed).
  const auto verified = decode(m);
  REQUIRE_FALSE(verified.ok());
  CHECK(verified.error().code == code);
}

void expect_u16(std::string_view vector, std::size_t at, std::uint16_t value, DecodeErrc code,
                std::string_view field_part) {
  Bytes m = bytes(vector);
  put_u16(m, at, value);
  reseal(m);
  INFO("16-bit field at ", at, " = ", value);
  const auto e = refused(m);
  REQUIRE(e.has_value());
  CHECK(e->code == code);
  CHECK(e->offset == at);
  CHECK(e->field.find(field_part) != std::string_view::npos);
  CHECK(e->message().find(std::to_string(value)) != std::string::npos);
}

TEST_CASE("ar$op.version other than 1: UnsupportedVersion, Protocol Error") {
  for (const std::uint8_t version : {0, 2, 0xF0, 0xFF}) {
    expect_u8(k91, 16, version, DecodeErrc::UnsupportedVersion, "version");
    Bytes m = bytes(k91);
    put_u8(m, 16, version);
    const auto e = refused(m);
    REQUIRE(e.has_value());
    if (version != 0) CHECK(e->message().find(std::to_string(version)) != std::string::npos);
    CHECK(e->indication() == ErrorCode::ProtocolError);
  }
}

TEST_CASE("ar$op.type outside 1..8: UnknownPacketType") {
  for (const std::uint8_t type : {0, 9, 10, 0x80, 0xFF}) {
    expect_u8(k95, 17, type, DecodeErrc::UnknownPacketType, "type");
    Bytes m = bytes(k95);
    put_u8(m, 17, type);
    const auto e = refused(m);
    REQUIRE(e.has_value());
    if (type != 0) CHECK(e->message().find(std::to_string(type)) != std::string::npos);
    CHECK(e->indication() == ErrorCode::ProtocolError);
  }
}

TEST_CASE("ar$afn not IPv4 or IPv6: UnsupportedAddressFamily") {
  for (const std::uint16_t afn : {0, 3, 0x00FF, 0x0101, 0xFFFF}) {
    expect_u16(k91, 0, afn, DecodeErrc::UnsupportedAddressFamily, "afn");
  }
  Bytes m = bytes(k91);
  put_u16(m, 0, 3);
  const auto e = refused(m);
  REQUIRE(e.has_value());
  CHECK(e->indication() == ErrorCode::ProtocolError);
}

TEST_CASE("ar$pro.type not 0x0800 or 0x86DD: UnsupportedAddressFamily") {
  for (const std::uint16_t pro : {0x0000, 0x0080, 0x0801, 0x86DE, 0x2001}) {
    expect_u16(k91, 2, pro, DecodeErrc::UnsupportedAddressFamily, "pro");
  }
}

TEST_CASE("ar$shtl / ar$sstl with the reserved (0x80) or E.164 (0x40) bit: BadTypeLength") {
  for (const std::uint8_t shtl : {0x84, 0x44, 0xC4, 0x80, 0x40}) {
    expect_u8(k91, 18, shtl, DecodeErrc::BadTypeLength, "shtl");
  }
  for (const std::uint8_t sstl : {0x80, 0x40, 0xC0}) {
    expect_u8(k91, 19, sstl, DecodeErrc::BadTypeLength, "sstl");
  }
  expect_u8(kIpv6Full, 18, 0x50, DecodeErrc::BadTypeLength, "shtl");
}

TEST_CASE("NBMA address length that does not fit ar$afn: BadAddressLength") {
  for (const std::uint8_t shtl : {0x01, 0x03, 0x05, 0x10, 0x3F}) {
    expect_u8(k91, 18, shtl, DecodeErrc::BadAddressLength, "shtl");
  }
  expect_u8(kIpv6Full, 18, 0x04, DecodeErrc::BadAddressLength, "shtl");  // afn 2 needs 16
}

TEST_CASE("protocol address lengths other than 0 or the family's size: BadAddressLength") {
  for (const std::uint8_t len : {1, 2, 3, 5, 8, 16, 0xFF}) {
    INFO("length ", unsigned{len});
    expect_u8(k91, 20, len, DecodeErrc::BadAddressLength, "");
    expect_u8(k91, 21, len, DecodeErrc::BadAddressLength, "");
    expect_u8(k94, 21, len, DecodeErrc::BadAddressLength, "");  // Traffic Indication
    expect_u8(kErrorIndication, 20, len, DecodeErrc::BadAddressLength, "");
  }
  expect_u8(kIpv6Overlay, 20, 4, DecodeErrc::BadAddressLength, "");  // pro.type 0x86DD needs 16
  expect_u8(kIpv6Overlay, 21, 4, DecodeErrc::BadAddressLength, "");
}

TEST_CASE("CIE type/length bytes with the reserved or E.164 bit: BadTypeLength") {
  // 9.1: CIE at 40; Cli Addr T/L at 48, Cli SAddr T/L at 49.
  for (const std::uint8_t tl : {0x80, 0x40, 0xC0, 0x84, 0x44}) {
    expect_u8(k91, 48, tl, DecodeErrc::BadTypeLength, "");
    expect_u8(k91, 49, tl, DecodeErrc::BadTypeLength, "");
  }
  // 9.3: the Responder extension's CIE (T/L at 72): refused, naming a byte of that extension.
  Bytes m = bytes(k93);
  put_u8(m, 72, 0x84);
  reseal(m);
  const auto e = refused(m);
  REQUIRE(e.has_value());
  CHECK(one_of(e->code, {DecodeErrc::BadTypeLength, DecodeErrc::BadExtension, DecodeErrc::BadCie}));
  CHECK(e->offset >= 60);
  CHECK(e->offset <= 84);
}

TEST_CASE("CIE address lengths that do not fit the family: BadAddressLength") {
  // IPv6 NBMA and overlay: CIE at 76, NBMA length at 84, protocol length at 86.
  expect_u8(kIpv6Full, 84, 4, DecodeErrc::BadAddressLength, "");
  expect_u8(kIpv6Full, 86, 4, DecodeErrc::BadAddressLength, "");
  expect_u8(kIpv6Full, 86, 5, DecodeErrc::BadAddressLength, "");
  // IPv4: a wrong length that would also overflow the CIE may be reported either way.
  for (const std::size_t at : {std::size_t{48}, std::size_t{50}}) {
    for (const std::uint8_t len : {3, 5, 16}) {
      Bytes m = bytes(k91);
      put_u8(m, at, len);
      reseal(m);
      INFO("byte ", at, " = ", unsigned{len});
      const auto e = refused(m);
      REQUIRE(e.has_value());
      CHECK(one_of(e->code, {DecodeErrc::BadAddressLength, DecodeErrc::BadCie}));
      CHECK(e->offset >= 40);
      CHECK(e->offset < 52);
    }
  }
}

TEST_CASE("indication(): the Error Indication code for each refusal") {
  const auto make = [](DecodeErrc code, std::size_t offset) {
    DecodeError e;
    e.code = code;
    e.field = "field";
    e.offset = offset;
    return e;
  };
  // Dropped silently: a bad checksum, a packet too short to answer.
  CHECK(make(DecodeErrc::ChecksumMismatch, 12).indication() == ErrorCode::None);
  CHECK(make(DecodeErrc::PacketSizeTooSmall, 10).indication() == ErrorCode::None);
  CHECK(make(DecodeErrc::Truncated, 0).indication() == ErrorCode::None);
  // RFC 2332 5.2.7 "Protocol Error: invalid version number, invalid protocol type".
  CHECK(make(DecodeErrc::UnsupportedVersion, 16).indication() == ErrorCode::ProtocolError);
  CHECK(make(DecodeErrc::UnknownPacketType, 17).indication() == ErrorCode::ProtocolError);
  CHECK(make(DecodeErrc::UnsupportedAddressFamily, 0).indication() == ErrorCode::ProtocolError);
  const ErrorCode bad_ext = make(DecodeErrc::BadExtension, 60).indication();
  CHECK((bad_ext == ErrorCode::InvalidExtension || bad_ext == ErrorCode::ProtocolError));
  // Nothing maps to a code that does not describe a malformed packet.
  for (const DecodeErrc code : kAllErrcs) {
    const ErrorCode ind = make(code, 40).indication();
    INFO(to_string(code), " -> ", to_string(ind));
    CHECK((ind == ErrorCode::None || ind == ErrorCode::ProtocolError || ind == ErrorCode::InvalidExtension ||
           ind == ErrorCode::UnrecognizedExtension || ind == ErrorCode::SduSizeExceeded));
  }
}

TEST_CASE("DecodeError::message names the field, its offset and the numbers") {
  DecodeError e;
  e.code = DecodeErrc::BadExtensionOffset;
  e.field = "ar$extoff";
  e.offset = 14;
  e.needed = 40;
  e.available = 12;
  const std::string msg = e.message();
  CHECK(msg.find("ar$extoff") != std::string::npos);
  CHECK(msg.find("14") != std::string::npos);
  CHECK(msg.find("40") != std::string::npos);
  CHECK(msg.find("12") != std::string::npos);

  e.code = DecodeErrc::PacketSizeExceedsData;
  e.field = "ar$pktsz";
  e.offset = 10;
  e.needed = 1234;
  e.available = 567;
  const std::string msg2 = e.message();
  CHECK(msg2.find("ar$pktsz") != std::string::npos);
  CHECK(msg2.find("1234") != std::string::npos);
  CHECK(msg2.find("567") != std::string::npos);
}

TEST_CASE("to_string(DecodeErrc): every code has its own name") {
  std::set<std::string> names;
  for (const DecodeErrc code : kAllErrcs) {
    const std::string name(to_string(code));
    CHECK_FALSE(name.empty());
    names.insert(name);
  }
  CHECK(names.size() == std::size(kAllErrcs));
}

}  // namespace
