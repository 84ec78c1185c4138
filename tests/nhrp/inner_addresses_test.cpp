// inner_addresses (nhrp/builders.h): source and destination of the IPv4 or
// IPv6 packet quoted in a Traffic Indication (NHRP-WIRE.md 5: a receiver
// needs at least the 20-byte IPv4 or 40-byte IPv6 header).
#include <cstddef>

#include "nhrp/builders.h"
#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

// 9.4's payload: ICMP echo 192.168.2.10 -> 192.168.3.20, 28 bytes.
constexpr std::string_view kIpv4Packet =
    "45 00 00 54 12 34 40 00 3f 01 a3 06 c0 a8 02 0a c0 a8 03 14 08 00 00 00 00 01 00 01";
// IPv6 header, ICMPv6 echo 2001:db8::a -> 2001:db8:3::14, plus 8 bytes.
constexpr std::string_view kIpv6Packet =
    "60 00 00 00 00 08 3a 40"
    "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 0a"
    "20 01 0d b8 00 03 00 00 00 00 00 00 00 00 00 14"
    "80 00 00 00 00 01 00 01";

TEST_CASE("inner_addresses: IPv4") {
  const auto a = inner_addresses(bytes(kIpv4Packet));
  REQUIRE(a.has_value());
  CHECK(a->source == ip("192.168.2.10"));
  CHECK(a->destination == ip("192.168.3.20"));
  // The header alone is enough.
  const auto header_only = inner_addresses(prefix(bytes(kIpv4Packet), 20));
  REQUIRE(header_only.has_value());
  CHECK(header_only->destination == ip("192.168.3.20"));
}

TEST_CASE("inner_addresses: IPv4 with options (IHL 6) still reads bytes 12-19") {
  Bytes p = bytes(kIpv4Packet);
  put_u8(p, 0, 0x46);
  const auto a = inner_addresses(p);
  REQUIRE(a.has_value());
  CHECK(a->source == ip("192.168.2.10"));
  CHECK(a->destination == ip("192.168.3.20"));
}

TEST_CASE("inner_addresses: IPv6") {
  const auto a = inner_addresses(bytes(kIpv6Packet));
  REQUIRE(a.has_value());
  CHECK(a->source == ip("2001:db8::a"));
  CHECK(a->destination == ip("2001:db8:3::14"));
  CHECK(a->source.family() == AddressFamily::Ipv6);
  const auto header_only = inner_addresses(prefix(bytes(kIpv6Packet), 40));
  REQUIRE(header_only.has_value());
  CHECK(header_only->source == ip("2001:db8::a"));
}

TEST_CASE("inner_addresses: truncated headers give nothing, never a read past the end") {
  const Bytes v4 = bytes(kIpv4Packet);
  for (std::size_t n = 0; n < 20; ++n) {
    INFO("IPv4, ", n, " bytes");
    CHECK_FALSE(inner_addresses(prefix(v4, n)).has_value());
  }
  const Bytes v6 = bytes(kIpv6Packet);
  for (std::size_t n = 0; n < 40; ++n) {
    INFO("IPv6, ", n, " bytes");
    CHECK_FALSE(inner_addresses(prefix(v6, n)).has_value());
  }
}

TEST_CASE("inner_addresses: a version nibble other than 4 or 6 gives nothing") {
  for (const std::uint8_t first : {0x00, 0x55, 0x75, 0xF5}) {
    Bytes p = bytes(kIpv6Packet);
    put_u8(p, 0, first);
    INFO("first byte ", unsigned{first});
    CHECK_FALSE(inner_addresses(p).has_value());
  }
}

}  // namespace
