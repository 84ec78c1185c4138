// capture::dissect_frame on hand-built frames: every link type, VLAN tags,
// IPv4 options and fragments, IPv6 extension headers, GRE variants, and
// truncation at each layer.
#include "capture/dissect.h"

#include <doctest/doctest.h>

#include "tests/capture/frame_builder.h"

namespace advpnd::capture {
namespace {

using test::Bytes;

const IpAddress kSrc4 = IpAddress::v4(198, 51, 100, 2);
const IpAddress kDst4 = IpAddress::v4(203, 0, 113, 1);
const IpAddress kSrc6 = *IpAddress::parse("2001:db8::2");
const IpAddress kDst6 = *IpAddress::parse("2001:db8::1");
const Bytes kNhrp = test::fake_nhrp();

Bytes gre_v4_packet(std::optional<std::uint32_t> key = {}) {
  return test::ipv4(kSrc4, kDst4, test::gre(kNhrp, 0x2001, key));
}

void check_nhrp(const std::optional<CapturedNhrp>& got, const IpAddress& src, const IpAddress& dst) {
  REQUIRE(got.has_value());
  CHECK(got->error.empty());
  CHECK(got->outer_source == src);
  CHECK(got->outer_destination == dst);
  CHECK(got->nhrp == kNhrp);
}

TEST_CASE("Ethernet, IPv4, GRE with and without a key") {
  auto plain = dissect_frame(kLinkEthernet, test::ethernet(0x0800, gre_v4_packet()));
  check_nhrp(plain, kSrc4, kDst4);
  CHECK(plain->in_gre);
  CHECK_FALSE(plain->gre_key.has_value());

  auto keyed = dissect_frame(kLinkEthernet, test::ethernet(0x0800, gre_v4_packet(1000)));
  check_nhrp(keyed, kSrc4, kDst4);
  CHECK(keyed->gre_key == 1000u);
}

TEST_CASE("802.1Q, 802.1ad and stacked VLAN tags are skipped") {
  check_nhrp(dissect_frame(kLinkEthernet, test::ethernet(0x0800, gre_v4_packet(), {0x8100})), kSrc4, kDst4);
  check_nhrp(dissect_frame(kLinkEthernet, test::ethernet(0x0800, gre_v4_packet(), {0x88A8, 0x8100})), kSrc4, kDst4);
  check_nhrp(dissect_frame(kLinkEthernet, test::ethernet(0x0800, gre_v4_packet(), {0x9100, 0x8100})), kSrc4, kDst4);
  // A tag with nothing after it.
  CHECK_FALSE(dissect_frame(kLinkEthernet, test::ethernet(0x8100, {})).has_value());
}

TEST_CASE("Ethernet padding and trailers after the IP datagram are not NHRP bytes") {
  Bytes frame = test::ethernet(0x0800, gre_v4_packet());
  frame.resize(frame.size() + 6);  // e.g. a capture appliance's trailer
  check_nhrp(dissect_frame(kLinkEthernet, frame), kSrc4, kDst4);
}

TEST_CASE("IPv4 options (IHL > 5) are skipped") {
  const Bytes ip = test::ipv4(kSrc4, kDst4, test::gre(kNhrp), {.option_bytes = 4});
  check_nhrp(dissect_frame(kLinkRaw, ip), kSrc4, kDst4);
}

TEST_CASE("NHRP directly over IP protocol 54") {
  const Bytes ip = test::ipv4(kSrc4, kDst4, kNhrp, {.protocol = 54});
  auto got = dissect_frame(kLinkRaw, ip);
  check_nhrp(got, kSrc4, kDst4);
  CHECK_FALSE(got->in_gre);
}

TEST_CASE("IPv4 fragments: non-first skipped, a first fragment is reported") {
  CHECK_FALSE(dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, kNhrp, {.fragment = 185})).has_value());
  auto first = dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, test::gre(kNhrp), {.fragment = 0x2000}));
  REQUIRE(first.has_value());
  CHECK(first->error.find("fragment") != std::string::npos);
  CHECK(first->nhrp.empty());
  // DF alone is not fragmentation.
  check_nhrp(dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, test::gre(kNhrp), {.fragment = 0x4000})), kSrc4, kDst4);
}

TEST_CASE("a snapshot length shorter than the datagram keeps what was captured") {
  Bytes ip = gre_v4_packet();
  ip.resize(ip.size() - 10);
  auto got = dissect_frame(kLinkRaw, ip);
  REQUIRE(got.has_value());
  CHECK(got->error.empty());
  CHECK(got->nhrp.size() == kNhrp.size() - 10);
}

TEST_CASE("truncated and inconsistent IPv4 headers of GRE packets are reported") {
  const Bytes ip = gre_v4_packet();
  auto short_header = dissect_frame(kLinkRaw, std::span(ip).first(12));
  REQUIRE(short_header.has_value());
  CHECK(short_header->error.find("IPv4 header truncated") != std::string::npos);

  Bytes options = test::ipv4(kSrc4, kDst4, {}, {.option_bytes = 8});
  options.resize(24);
  auto cut_options = dissect_frame(kLinkRaw, options);
  REQUIRE(cut_options.has_value());
  CHECK(cut_options->error.find("options truncated") != std::string::npos);

  auto bad_total = dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, test::gre(kNhrp), {.total_length_adjust = -60}));
  REQUIRE(bad_total.has_value());
  CHECK(bad_total->error.find("total length") != std::string::npos);

  Bytes bad_ihl = gre_v4_packet();
  bad_ihl[0] = std::byte{0x44};
  auto ihl = dissect_frame(kLinkRaw, bad_ihl);
  REQUIRE(ihl.has_value());
  CHECK(ihl->error.find("header length") != std::string::npos);
}

TEST_CASE("GRE: other protocol types are skipped, a truncated header is reported") {
  CHECK_FALSE(dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, test::gre(kNhrp, 0x0800))).has_value());
  CHECK_FALSE(dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, test::gre(kNhrp, 0x86DD))).has_value());

  const Bytes plain = test::gre(kNhrp);
  auto two_bytes = dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, std::span(plain).first(2)));
  REQUIRE(two_bytes.has_value());
  CHECK(two_bytes->error.find("GRE") != std::string::npos);
  CHECK(two_bytes->outer_source == kSrc4);

  // K bit set but the key cut off.
  const Bytes keyed = test::gre(kNhrp, 0x2001, 7);
  auto cut_key = dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, std::span(keyed).first(6)));
  REQUIRE(cut_key.has_value());
  CHECK(cut_key->error.find("GRE header truncated") != std::string::npos);
}

TEST_CASE("frames without NHRP are skipped") {
  CHECK_FALSE(dissect_frame(kLinkEthernet, test::ethernet(0x0806, test::fake_nhrp(28))).has_value());   // ARP
  CHECK_FALSE(dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, kNhrp, {.protocol = 17})).has_value());  // UDP
  CHECK_FALSE(dissect_frame(kLinkRaw, test::ipv4(kSrc4, kDst4, kNhrp, {.protocol = 50})).has_value());  // ESP
  CHECK_FALSE(dissect_frame(kLinkEthernet, {}).has_value());
  CHECK_FALSE(dissect_frame(kLinkRaw, {}).has_value());
  CHECK_FALSE(dissect_frame(kLinkLinuxSll, test::fake_nhrp(10)).has_value());
  // An Ethernet frame that says IPv4 but is not.
  CHECK_FALSE(
      dissect_frame(kLinkEthernet, test::ethernet(0x0800, test::ipv6(kSrc6, kDst6, 47, test::gre(kNhrp)))).has_value());
}

TEST_CASE("raw IP link types pick IPv4 or IPv6 by the version nibble") {
  for (const int link : {kLinkRaw, kLinkRawOpenBsd, kLinkRawLinktype, kLinkIpv4, kLinkIpv6}) {
    CAPTURE(link);
    CHECK(link_type_supported(link));
    check_nhrp(dissect_frame(link, gre_v4_packet()), kSrc4, kDst4);
    check_nhrp(dissect_frame(link, test::ipv6(kSrc6, kDst6, 47, test::gre(kNhrp))), kSrc6, kDst6);
  }
}

TEST_CASE("null/loopback link types") {
  Bytes frame;
  test::put32le(frame, 2);  // AF_INET, host order
  test::append(frame, gre_v4_packet());
  check_nhrp(dissect_frame(kLinkNull, frame), kSrc4, kDst4);
  check_nhrp(dissect_frame(kLinkLoop, frame), kSrc4, kDst4);
}

TEST_CASE("Linux cooked captures, v1 and v2") {
  check_nhrp(dissect_frame(kLinkLinuxSll, test::sll(0x0800, gre_v4_packet())), kSrc4, kDst4);
  check_nhrp(dissect_frame(kLinkLinuxSll2, test::sll2(0x86DD, test::ipv6(kSrc6, kDst6, 47, test::gre(kNhrp)))), kSrc6,
             kDst6);
  CHECK_FALSE(dissect_frame(kLinkLinuxSll2, test::sll2(0x0806, kNhrp)).has_value());
}

TEST_CASE("a cooked capture on the GRE device: protocol 0x2001, outer source in the link address") {
  const Bytes address{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{2}};
  auto got = dissect_frame(kLinkLinuxSll, test::sll(0x2001, kNhrp, address));
  REQUIRE(got.has_value());
  CHECK(got->nhrp == kNhrp);
  CHECK(got->outer_source == kSrc4);
  CHECK(got->outer_destination.empty());
  CHECK_FALSE(got->gre_key.has_value());
}

TEST_CASE("IPv6 extension headers before GRE are walked") {
  // Hop-by-hop (8 bytes: next header 60), destination options (8 bytes: next header 47).
  Bytes chain;
  test::put8(chain, 60);
  test::put8(chain, 0);
  for (int i = 0; i < 6; ++i) test::put8(chain, 0);
  test::put8(chain, 47);
  test::put8(chain, 0);
  for (int i = 0; i < 6; ++i) test::put8(chain, 0);
  test::append(chain, test::gre(kNhrp));
  check_nhrp(dissect_frame(kLinkRaw, test::ipv6(kSrc6, kDst6, 0, chain)), kSrc6, kDst6);

  // A fragment header: the first fragment of a fragmented datagram is
  // reported, a later one skipped, an atomic fragment (RFC 8200 4.5) read.
  auto fragment = [&](unsigned offset_and_more) {
    Bytes header;
    test::put8(header, 47);
    test::put8(header, 0);
    test::put16(header, offset_and_more);
    test::put32(header, 0x1234);
    test::append(header, test::gre(kNhrp));
    return test::ipv6(kSrc6, kDst6, 44, header);
  };
  check_nhrp(dissect_frame(kLinkRaw, fragment(0)), kSrc6, kDst6);
  CHECK_FALSE(dissect_frame(kLinkRaw, fragment(8 << 3)).has_value());
  auto first = dissect_frame(kLinkRaw, fragment(1));
  REQUIRE(first.has_value());
  CHECK(first->error.find("fragment") != std::string::npos);

  // Upper layers that are not GRE or NHRP.
  CHECK_FALSE(dissect_frame(kLinkRaw, test::ipv6(kSrc6, kDst6, 58, kNhrp)).has_value());  // ICMPv6
}

TEST_CASE("IPv6: padding clipped to the payload length, truncated header reported") {
  Bytes ip = test::ipv6(kSrc6, kDst6, 47, test::gre(kNhrp));
  ip.resize(ip.size() + 4);
  check_nhrp(dissect_frame(kLinkRaw, ip), kSrc6, kDst6);
  auto cut = dissect_frame(kLinkRaw, std::span(ip).first(30));
  REQUIRE(cut.has_value());
  CHECK(cut->error.find("IPv6 header truncated") != std::string::npos);
}

TEST_CASE("unsupported link types") {
  CHECK_FALSE(link_type_supported(9));    // PPP
  CHECK_FALSE(link_type_supported(105));  // 802.11
  CHECK_FALSE(dissect_frame(9, gre_v4_packet()).has_value());
}

}  // namespace
}  // namespace advpnd::capture
