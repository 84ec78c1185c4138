// The inner IPv4 view, ICMP "fragmentation needed", the TTL decrement and
// the shortcut route table: pure functions, no I/O.
#include "dataplane/ipv4_packet.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "dataplane/route_table.h"
#include "tests/dataplane/packets.h"

namespace advpnd::dataplane {
namespace {

using test::u16_at;
using test::udp_packet;
using test::UdpSpec;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

TEST_CASE("parse_inner_ipv4: fields, and every length is validated before use") {
  auto packet = udp_packet({ip("10.0.0.2"), ip("10.0.0.9"), 100, 0xB8, true, 17});
  auto parsed = parse_inner_ipv4(packet);
  REQUIRE(parsed.ok());
  CHECK(parsed->header_size == 20);
  CHECK(parsed->tos == 0xB8);
  CHECK(parsed->total_length == 100);
  CHECK(parsed->dont_fragment());
  CHECK(parsed->ttl == 17);
  CHECK(parsed->protocol == 17);
  CHECK(parsed->source == ip("10.0.0.2"));
  CHECK(parsed->destination == ip("10.0.0.9"));

  // Padding after the datagram is allowed (total length says where it ends).
  auto padded = packet;
  padded.resize(120);
  CHECK(parse_inner_ipv4(padded).ok());

  CHECK(parse_inner_ipv4({}).error() == InnerIpv4Error::NotIpv4);
  auto v6 = packet;
  v6[0] = std::byte{0x60};
  CHECK(parse_inner_ipv4(v6).error() == InnerIpv4Error::NotIpv4);
  for (std::size_t size = 1; size < 20; ++size) {
    CHECK(parse_inner_ipv4(std::span<const std::byte>(packet).first(size)).error() == InnerIpv4Error::Truncated);
  }
  auto short_ihl = packet;
  short_ihl[0] = std::byte{0x44};
  CHECK(parse_inner_ipv4(short_ihl).error() == InnerIpv4Error::BadHeaderLength);
  auto long_ihl = packet;
  long_ihl[0] = std::byte{0x4F};  // 60 bytes of header, fine: 100 bytes are there
  CHECK(parse_inner_ipv4(long_ihl).ok());
  CHECK(parse_inner_ipv4(std::span<const std::byte>(long_ihl).first(40)).error() == InnerIpv4Error::BadHeaderLength);
  auto long_total = packet;
  long_total[2] = std::byte{0x01};  // 356 > 100 bytes received
  CHECK(parse_inner_ipv4(long_total).error() == InnerIpv4Error::BadTotalLength);
  auto short_total = packet;
  short_total[2] = std::byte{0};
  short_total[3] = std::byte{19};
  CHECK(parse_inner_ipv4(short_total).error() == InnerIpv4Error::BadTotalLength);
}

TEST_CASE("ICMP fragmentation needed: type 3 code 4, next-hop MTU, quotes header + 8 bytes, checksums verify") {
  const auto original = udp_packet({ip("10.0.0.2"), ip("10.0.0.9"), 1400, 0x2E, true});
  std::vector<std::byte> out(kMaxIcmpErrorSize);
  const auto icmp = build_fragmentation_needed(original, ip("10.0.0.9"), 1376, out);
  REQUIRE(icmp.size() == 20 + 8 + 28);

  auto outer = parse_inner_ipv4(icmp);
  REQUIRE(outer.ok());
  CHECK(outer->protocol == kIpProtocolIcmp);
  CHECK(outer->source == ip("10.0.0.9"));       // from the unreachable destination
  CHECK(outer->destination == ip("10.0.0.2"));  // to the original sender
  CHECK(outer->total_length == icmp.size());
  CHECK_FALSE(outer->dont_fragment());
  CHECK(ipv4_checksum(icmp.first(20)) == 0);  // a header with a valid checksum sums to 0xFFFF

  const auto message = icmp.subspan(20);
  CHECK(std::to_integer<int>(message[0]) == 3);  // Destination Unreachable (RFC 792)
  CHECK(std::to_integer<int>(message[1]) == 4);  // fragmentation needed and DF set
  CHECK(u16_at(message, 4) == 0);                // unused (RFC 1191 section 4)
  CHECK(u16_at(message, 6) == 1376);             // Next-Hop MTU
  CHECK(ipv4_checksum(message) == 0);
  const auto quoted = message.subspan(8);
  CHECK(std::equal(quoted.begin(), quoted.end(), original.begin()));  // IP header + 8 bytes of UDP

  // Header options are quoted whole, then 8 bytes; a short datagram only what it has.
  auto with_options = udp_packet({ip("10.0.0.2"), ip("10.0.0.9"), 200});
  with_options[0] = std::byte{0x46};
  const auto icmp_options = build_fragmentation_needed(with_options, ip("10.0.0.9"), 576, out);
  CHECK(icmp_options.size() == 20 + 8 + 24 + 8);
  CHECK(build_fragmentation_needed(original, ip("10.0.0.9"), 576, std::span<std::byte>(out).first(40)).empty());
  CHECK(build_fragmentation_needed(std::span<const std::byte>(original).first(10), ip("10.0.0.9"), 576, out).empty());
}

TEST_CASE("no ICMP error about ICMP errors, non-initial fragments or non-unicast sources (RFC 1812 4.3.2.7)") {
  auto packet = udp_packet({ip("10.0.0.2"), ip("10.0.0.9"), 100});
  CHECK(may_send_icmp_error_about(*parse_inner_ipv4(packet), packet));

  auto fragment = packet;
  fragment[7] = std::byte{0x10};  // offset 16
  CHECK_FALSE(may_send_icmp_error_about(*parse_inner_ipv4(fragment), fragment));

  for (const char* source : {"0.0.0.1", "127.0.0.1", "224.0.0.5", "255.255.255.255"}) {
    auto odd = udp_packet({ip(source), ip("10.0.0.9"), 100});
    CHECK_FALSE(may_send_icmp_error_about(*parse_inner_ipv4(odd), odd));
  }

  auto icmp_error = packet;
  icmp_error[9] = std::byte{kIpProtocolIcmp};
  icmp_error[20] = std::byte{3};
  CHECK_FALSE(may_send_icmp_error_about(*parse_inner_ipv4(icmp_error), icmp_error));
  auto echo = icmp_error;
  echo[20] = std::byte{8};
  CHECK(may_send_icmp_error_about(*parse_inner_ipv4(echo), echo));
}

TEST_CASE("decrement_ttl: TTL - 1, the incremental checksum equals a full recomputation (RFC 1624)") {
  for (const std::uint8_t ttl : {2, 64, 128, 255}) {
    for (const std::uint16_t id : {0, 1, 0xFFFF, 0x1234}) {
      auto packet = udp_packet({ip("10.0.0.2"), ip("10.9.8.7"), 64, 0xB8, true, ttl, id});
      REQUIRE(decrement_ttl(packet));
      CHECK(std::to_integer<int>(packet[8]) == ttl - 1);
      CHECK(ipv4_checksum(std::span<const std::byte>(packet).first(20)) == 0);
    }
  }
  auto dying = udp_packet({ip("10.0.0.2"), ip("10.0.0.9"), 64, 0, false, 1});
  const auto before = dying;
  CHECK_FALSE(decrement_ttl(dying));
  CHECK(dying == before);
  std::vector<std::byte> junk(10);
  CHECK_FALSE(decrement_ttl(junk));
}

TEST_CASE("route table: longest prefix wins, routes come and go") {
  RouteTable table;
  CHECK(table.lookup(ip("10.0.0.5")) == nullptr);
  table.set(shortcut::Prefix::of(ip("10.0.0.0"), 16), {ip("192.0.2.16"), 0});
  table.set(shortcut::Prefix::of(ip("10.0.1.0"), 24), {ip("192.0.2.24"), 1400});
  table.set(shortcut::Prefix::host(ip("10.0.1.7")), {ip("192.0.2.32"), 0});
  CHECK(table.size() == 3);
  CHECK(table.lookup(ip("10.0.1.7"))->peer_nbma == ip("192.0.2.32"));
  CHECK(table.lookup(ip("10.0.1.8"))->peer_nbma == ip("192.0.2.24"));
  CHECK(table.lookup(ip("10.0.1.8"))->mtu == 1400);
  CHECK(table.lookup(ip("10.0.200.1"))->peer_nbma == ip("192.0.2.16"));
  CHECK(table.lookup(ip("10.1.0.1")) == nullptr);
  CHECK(table.lookup(ip("2001:db8::1")) == nullptr);
  CHECK(table.uses_peer(ip("192.0.2.24")));

  // Replacing keeps one entry; erasing falls back to the next shorter prefix.
  table.set(shortcut::Prefix::host(ip("10.0.1.7")), {ip("192.0.2.33"), 0});
  CHECK(table.size() == 3);
  CHECK(table.lookup(ip("10.0.1.7"))->peer_nbma == ip("192.0.2.33"));
  CHECK(table.erase(shortcut::Prefix::host(ip("10.0.1.7"))));
  CHECK_FALSE(table.erase(shortcut::Prefix::host(ip("10.0.1.7"))));
  CHECK(table.lookup(ip("10.0.1.7"))->peer_nbma == ip("192.0.2.24"));
  CHECK(table.erase(shortcut::Prefix::of(ip("10.0.1.0"), 24)));
  CHECK(table.erase(shortcut::Prefix::of(ip("10.0.0.0"), 16)));
  CHECK(table.empty());
  CHECK(table.lookup(ip("10.0.1.7")) == nullptr);

  // A default route and IPv6 prefixes live side by side.
  table.set(shortcut::Prefix::of(ip("0.0.0.0"), 0), {ip("192.0.2.1"), 0});
  table.set(shortcut::Prefix::of(ip("2001:db8::"), 32), {ip("192.0.2.6"), 0});
  CHECK(table.lookup(ip("8.8.8.8"))->peer_nbma == ip("192.0.2.1"));
  CHECK(table.lookup(ip("2001:db8::1"))->peer_nbma == ip("192.0.2.6"));
  CHECK(table.lookup(ip("2001:db9::1")) == nullptr);
}

}  // namespace
}  // namespace advpnd::dataplane
