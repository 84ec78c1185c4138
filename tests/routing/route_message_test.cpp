// decode_route_message/encode_route_request: rtnetlink route messages built
// with libmnl as the kernel sends them, and malformed ones (short header,
// attribute lengths that lie, wrong payload sizes) refused with the numbers.
#include "routing/route_message.h"

#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace advpnd::routing {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

struct Builder {
  alignas(nlmsghdr) std::array<std::byte, 512> buffer{};
  nlmsghdr* message = nullptr;
  rtmsg* header = nullptr;

  explicit Builder(std::uint16_t type = RTM_NEWROUTE, std::uint8_t family = AF_INET) {
    message = mnl_nlmsg_put_header(buffer.data());
    message->nlmsg_type = type;
    header = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
    header->rtm_family = family;
    header->rtm_table = RT_TABLE_MAIN;
    header->rtm_type = RTN_UNICAST;
    header->rtm_protocol = 186;
  }
  Builder& dst(const char* address, std::uint8_t length) {
    header->rtm_dst_len = length;
    const IpAddress a = ip(address);
    mnl_attr_put(message, RTA_DST, a.size(), a.bytes().data());
    return *this;
  }
  Builder& gateway(const char* address) {
    const IpAddress a = ip(address);
    mnl_attr_put(message, RTA_GATEWAY, a.size(), a.bytes().data());
    return *this;
  }
  Builder& u32(std::uint16_t type, std::uint32_t value) {
    mnl_attr_put_u32(message, type, value);
    return *this;
  }
};

TEST_CASE("a BGP route of the main table decodes with every field") {
  Builder b;
  b.dst("10.1.2.0", 24).gateway("10.0.0.3").u32(RTA_OIF, 7).u32(RTA_PRIORITY, 20).u32(RTA_TABLE, RT_TABLE_MAIN);
  auto decoded = decode_route_message(*b.message);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->has_value());
  const RouteMessage& m = **decoded;
  CHECK(m.kind == RouteMessageKind::New);
  CHECK(m.route.prefix == shortcut::Prefix::of(ip("10.1.2.0"), 24));
  CHECK(m.route.gateway == ip("10.0.0.3"));
  CHECK(m.route.ifindex == 7);
  CHECK(m.route.metric == 20);
  CHECK(m.route.protocol == RouteProtocol::Bgp);
  CHECK(m.route.reachable);
}

TEST_CASE("a default route has no RTA_DST; a delete is a Deleted message") {
  Builder b(RTM_DELROUTE);
  b.gateway("192.0.2.1").u32(RTA_OIF, 2);
  auto decoded = decode_route_message(*b.message);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->has_value());
  CHECK((**decoded).kind == RouteMessageKind::Deleted);
  CHECK((**decoded).route.prefix == shortcut::Prefix::of(IpAddress::v4(0), 0));
}

TEST_CASE("routes advpnd does not follow are skipped, not errors") {
  SUBCASE("table local (RTA_TABLE wins over rtm_table)") {
    Builder b;
    b.dst("10.0.0.1", 32).u32(RTA_TABLE, RT_TABLE_LOCAL);
    auto decoded = decode_route_message(*b.message);
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->has_value());
  }
  SUBCASE("a table above 255 only RTA_TABLE can name") {
    Builder b;
    b.header->rtm_table = RT_TABLE_UNSPEC;
    b.dst("10.0.0.0", 8).u32(RTA_TABLE, 1000);
    auto decoded = decode_route_message(*b.message);
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->has_value());
  }
  SUBCASE("broadcast type") {
    Builder b;
    b.header->rtm_type = RTN_BROADCAST;
    b.dst("10.0.0.255", 32);
    auto decoded = decode_route_message(*b.message);
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->has_value());
  }
  SUBCASE("a cached clone") {
    Builder b;
    b.header->rtm_flags = RTM_F_CLONED;
    b.dst("10.0.0.5", 32);
    auto decoded = decode_route_message(*b.message);
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->has_value());
  }
  SUBCASE("another message type") {
    Builder b(RTM_NEWADDR);
    auto decoded = decode_route_message(*b.message);
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->has_value());
  }
}

TEST_CASE("a blackhole route is kept as unreachable") {
  Builder b;
  b.header->rtm_type = RTN_BLACKHOLE;
  b.dst("10.0.0.0", 8);
  auto decoded = decode_route_message(*b.message);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->has_value());
  CHECK_FALSE((**decoded).route.reachable);
}

TEST_CASE("malformed route messages are refused with the numbers") {
  SUBCASE("payload shorter than rtmsg") {
    Builder b;
    b.message->nlmsg_len = static_cast<std::uint32_t>(mnl_nlmsg_size(4));
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("4 bytes of payload") != std::string::npos);
  }
  SUBCASE("RTA_OIF of 2 bytes") {
    Builder b;
    b.dst("10.0.0.0", 8);
    mnl_attr_put_u16(b.message, RTA_OIF, 3);
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("2 bytes, not a u32") != std::string::npos);
  }
  SUBCASE("RTA_GATEWAY of 5 bytes") {
    Builder b;
    const std::array<std::byte, 5> five{};
    mnl_attr_put(b.message, RTA_GATEWAY, five.size(), five.data());
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("5 bytes, not an IPv4 or IPv6 address") != std::string::npos);
  }
  SUBCASE("an IPv6 RTA_DST in an IPv4 message") {
    Builder b;
    b.dst("2001:db8::", 32);
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("RTA_DST of 16 bytes") != std::string::npos);
  }
  SUBCASE("a prefix length longer than the address") {
    Builder b;
    b.dst("10.0.0.0", 8);
    b.header->rtm_dst_len = 33;
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("prefix length 33 > 32") != std::string::npos);
  }
  SUBCASE("an attribute whose length runs past the message") {
    Builder b;
    b.dst("10.0.0.0", 8);
    auto* last = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(b.message) + b.message->nlmsg_len - 8);
    last->nla_len = 200;  // the RTA_DST of 4 bytes claims 200
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("8 bytes of attributes do not parse") != std::string::npos);
  }
  SUBCASE("a prefix length without RTA_DST") {
    Builder b;
    b.header->rtm_dst_len = 16;
    auto decoded = decode_route_message(*b.message);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().find("prefix length 16 without RTA_DST") != std::string::npos);
  }
}

TEST_CASE("a route request encodes what the decoder reads back") {
  std::array<std::byte, kRouteRequestBufferSize> buffer{};
  RouteRequest request{shortcut::Prefix::of(ip("10.1.0.0"), 16), ip("10.0.0.1"), 12, 50};
  auto bytes = encode_route_request(RouteMessageKind::New, request, 77, buffer);
  REQUIRE_FALSE(bytes.empty());
  const auto* message = reinterpret_cast<const nlmsghdr*>(bytes.data());
  CHECK(message->nlmsg_seq == 77);
  CHECK((message->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK)) ==
        (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK));
  auto decoded = decode_route_message(*message);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->has_value());
  CHECK((**decoded).route.prefix == request.prefix);
  CHECK((**decoded).route.gateway == request.gateway);
  CHECK((**decoded).route.ifindex == 12);
  CHECK((**decoded).route.metric == 50);
  CHECK((**decoded).route.protocol == RouteProtocol::Advpnd);

  SUBCASE("a gateway of the other family cannot be expressed") {
    RouteRequest mixed{shortcut::Prefix::of(ip("10.1.0.0"), 16), ip("2001:db8::1"), 12, 0};
    CHECK(encode_route_request(RouteMessageKind::New, mixed, 1, buffer).empty());
  }
}

}  // namespace
}  // namespace advpnd::routing
