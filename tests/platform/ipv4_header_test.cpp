// The outer IPv4 header parser (base/ipv4_header.h): minimal header,
// options, and every refusal with its numbers.
#include "base/ipv4_header.h"

#include <doctest/doctest.h>

#include <vector>

#include "tests/support/test_data.h"

namespace {

using advpnd::IpAddress;
using advpnd::Ipv4Errc;
using advpnd::parse_ipv4_packet;
using advpnd::test::hex;

// 127.0.0.2 -> 127.0.0.3, TOS 0xC0, TTL 255, protocol 47, total length 28:
// header + GRE 00 00 20 01 + payload aa bb cc dd.
constexpr const char* kMinimal =
    "45 c0 00 1c 12 34 40 00 ff 2f 00 00 7f 00 00 02 7f 00 00 03"
    "00 00 20 01 aa bb cc dd";

TEST_CASE("parse_ipv4_packet: minimal header") {
  const auto data = hex(kMinimal);
  auto packet = parse_ipv4_packet(data);
  REQUIRE(packet.ok());
  CHECK(packet->header.header_size == 20);
  CHECK(packet->header.tos == 0xC0);
  CHECK(packet->header.total_length == 28);
  CHECK(packet->header.ttl == 255);
  CHECK(packet->header.protocol == 47);
  CHECK(packet->header.source == IpAddress::v4(127, 0, 0, 2));
  CHECK(packet->header.destination == IpAddress::v4(127, 0, 0, 3));
  CHECK(packet->payload.size() == 8);
  CHECK(packet->payload.data() == data.data() + 20);
}

TEST_CASE("parse_ipv4_packet: options are skipped (IHL 6), trailing bytes ignored") {
  const auto data =
      hex("46 00 00 20 00 00 00 00 40 2f 00 00 0a 00 00 01 0a 00 00 02"
          "01 01 01 00"  // NOP NOP NOP EOL
          "00 00 20 01 aa bb cc dd"
          "ee ee");  // beyond the total length (e.g. link padding)
  auto packet = parse_ipv4_packet(data);
  REQUIRE(packet.ok());
  CHECK(packet->header.header_size == 24);
  CHECK(packet->payload.size() == 8);
  CHECK(packet->payload.data() == data.data() + 24);
}

TEST_CASE("parse_ipv4_packet: refusals") {
  auto refuse = [](const std::vector<std::byte>& data, Ipv4Errc code) {
    auto packet = parse_ipv4_packet(data);
    REQUIRE_FALSE(packet.ok());
    CHECK(packet.error().code == code);
    CHECK_FALSE(packet.error().message().empty());
    return packet.error();
  };
  SUBCASE("truncated fixed header") {
    for (std::size_t n = 0; n < 20; ++n) {
      auto data = hex(kMinimal);
      data.resize(n);
      refuse(data, Ipv4Errc::Truncated);
    }
  }
  SUBCASE("IPv6 version nibble") {
    auto data = hex(kMinimal);
    data[0] = std::byte{0x65};
    CHECK(refuse(data, Ipv4Errc::NotVersion4).declared == 6);
  }
  SUBCASE("IHL below 5") {
    auto data = hex(kMinimal);
    data[0] = std::byte{0x44};
    CHECK(refuse(data, Ipv4Errc::BadHeaderLength).declared == 16);
  }
  SUBCASE("IHL beyond the bytes received") {
    auto data = hex(kMinimal);
    data[0] = std::byte{0x4f};  // 60 bytes of header, 28 received
    const auto error = refuse(data, Ipv4Errc::BadHeaderLength);
    CHECK(error.declared == 60);
    CHECK(error.received == 28);
  }
  SUBCASE("total length beyond the bytes received") {
    auto data = hex(kMinimal);
    data[3] = std::byte{0x40};
    CHECK(refuse(data, Ipv4Errc::BadTotalLength).declared == 64);
  }
  SUBCASE("total length below the header length") {
    auto data = hex(kMinimal);
    data[3] = std::byte{0x10};
    CHECK(refuse(data, Ipv4Errc::BadTotalLength).declared == 16);
  }
  SUBCASE("a fragment") {
    auto data = hex(kMinimal);
    data[6] = std::byte{0x20};  // MF
    refuse(data, Ipv4Errc::Fragment);
    data[6] = std::byte{0x00};
    data[7] = std::byte{0x10};  // offset 16
    refuse(data, Ipv4Errc::Fragment);
  }
}

}  // namespace
