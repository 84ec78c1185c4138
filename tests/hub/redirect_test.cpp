// Redirect policy (DMVPN phase 3; NHRP-WIRE.md 5, 8.3 step 1): a Traffic
// Indication to the spoke a hair-pinned packet came from, rate limited per
// (source, destination) pair with bounded memory.
#include "hub/redirect_policy.h"
#include "tests/hub/hub_fixture.h"
#include "tests/support/test_data.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::Dialect;
using nhrp::ExtensionType;

// The first 28 bytes are NHRP-WIRE.md 9.4's payload: ICMP echo
// 192.168.2.10 -> 192.168.3.20; the rest is more of the packet.
Bytes icmp_packet(std::uint8_t src_last = 10, std::uint8_t dst_last = 20, std::uint8_t dst_third = 3) {
  Bytes b = test::hex(
      "45 00 00 54 12 34 40 00 3f 01 a3 06 c0 a8 02 0a c0 a8 03 14 08 00 00 00 00 01 00 01");
  b[15] = std::byte{src_last};
  b[19] = std::byte{dst_last};
  b[18] = std::byte{dst_third};
  b.resize(84, std::byte{0x5a});
  return b;
}

// 9.4: the FRR Traffic Indication from hub 203.0.113.1 / 10.0.0.1.
constexpr std::string_view k94 =
    "00 01 08 00 00 00 00 00 00 01 00 44 dd f5 00 00 01 08 04 00 04 04 00 00 00 00 00 00 cb 00 71 01"
    "0a 00 00 01 c0 a8 02 0a 45 00 00 54 12 34 40 00 3f 01 a3 06 c0 a8 02 0a c0 a8 03 14 08 00 00 00"
    "00 01 00 01";

struct Sent {
  IpAddress spoke;
  nhrp::Packet indication;
};

struct RedirectFixture {
  explicit RedirectFixture(RedirectConfig config = {}, Dialect dialect = Dialect::Cisco)
      : policy(config, nhrp::Sender{kHubNbma, kHubProtocol, dialect, std::nullopt}, loop,
               [this](const IpAddress& spoke, const nhrp::Packet& indication) { sent.push_back({spoke, indication}); }) {}

  FakeLoop loop;
  std::vector<Sent> sent;
  RedirectPolicy policy;
};

const IpAddress kSourceSpoke = IpAddress::v4(198, 51, 100, 2);

TEST_CASE("redirect: the Traffic Indication is built as NHRP-WIRE.md 5 (Cisco hub)") {
  RedirectFixture r;
  const Bytes packet = icmp_packet();
  r.policy.on_hairpin(kSourceSpoke, packet);
  REQUIRE(r.sent.size() == 1);
  CHECK(r.sent[0].spoke == kSourceSpoke);

  // On the wire, as the spoke will decode it.
  const nhrp::Packet ti = decode_ok(encode_ok(r.sent[0].indication));
  CHECK(ti.type == nhrp::PacketType::TrafficIndication);
  CHECK(ti.hop_count == 255);
  CHECK(ti.traffic_code == nhrp::kTrafficCodeRedirect);
  CHECK(ti.src_nbma == kHubNbma);
  CHECK(ti.src_protocol == kHubProtocol);
  CHECK(ti.dst_protocol == ip("192.168.2.10"));  // the inner *source* (5: follow the implementations)
  CHECK(ti.payload == Bytes(packet.begin(), packet.begin() + 28));
  const std::vector<std::uint16_t> cisco_order{0x8004, 0x8005, 0x0009, 0x8000};
  CHECK(extension_types(ti) == cisco_order);
  REQUIRE(ti.find_extension(ExtensionType::CiscoNatAddress) != nullptr);
  CHECK(ti.find_extension(ExtensionType::CiscoNatAddress)->cies.empty());

  CHECK(r.policy.stats().hairpins == 1);
  CHECK(r.policy.stats().indications_sent == 1);
}

TEST_CASE("redirect: an FRR-dialect hub sends exactly NHRP-WIRE.md 9.4") {
  RedirectFixture r({}, Dialect::Frr);
  r.policy.on_hairpin(kSourceSpoke, icmp_packet());
  REQUIRE(r.sent.size() == 1);
  CHECK(test::to_hex(encode_ok(r.sent[0].indication)) == test::to_hex(test::hex(k94)));
}

TEST_CASE("redirect: 4 per minute, burst 1, per (source, destination) pair") {
  RedirectFixture r;
  const Bytes packet = icmp_packet();
  r.policy.on_hairpin(kSourceSpoke, packet);
  CHECK(r.sent.size() == 1);
  r.policy.on_hairpin(kSourceSpoke, packet);  // same pair, same minute
  CHECK(r.sent.size() == 1);
  CHECK(r.policy.stats().rate_limited == 1);

  r.loop.advance(14s);
  r.policy.on_hairpin(kSourceSpoke, packet);
  CHECK(r.sent.size() == 1);
  r.loop.advance(1s);  // 15 s after the first: one more token
  r.policy.on_hairpin(kSourceSpoke, packet);
  CHECK(r.sent.size() == 2);
  r.policy.on_hairpin(kSourceSpoke, packet);
  CHECK(r.sent.size() == 2);
  CHECK(r.policy.stats().rate_limited == 3);
  CHECK(r.policy.stats().hairpins == 5);

  // A long silence does not bank more than the burst.
  r.loop.advance(3600s);
  r.policy.on_hairpin(kSourceSpoke, packet);
  r.policy.on_hairpin(kSourceSpoke, packet);
  CHECK(r.sent.size() == 3);
}

TEST_CASE("redirect: distinct pairs are limited independently") {
  RedirectFixture r;
  r.policy.on_hairpin(kSourceSpoke, icmp_packet(10, 20));
  r.policy.on_hairpin(kSourceSpoke, icmp_packet(10, 21));  // other destination
  r.policy.on_hairpin(kSourceSpoke, icmp_packet(11, 20));  // other source
  CHECK(r.sent.size() == 3);
  r.policy.on_hairpin(kSourceSpoke, icmp_packet(10, 20));
  r.policy.on_hairpin(kSourceSpoke, icmp_packet(10, 21));
  CHECK(r.sent.size() == 3);
  CHECK(r.policy.stats().rate_limited == 2);
}

TEST_CASE("redirect: a flood of distinct pairs keeps at most max_pairs buckets") {
  RedirectConfig config;
  config.max_pairs = 16;
  RedirectFixture r(config);
  for (int i = 0; i < 1000; ++i) {
    r.policy.on_hairpin(kSourceSpoke, icmp_packet(static_cast<std::uint8_t>(i % 250), static_cast<std::uint8_t>(i / 250),
                                                  static_cast<std::uint8_t>(100 + i % 7)));
  }
  // Memory is bounded: past 16 live buckets new pairs are refused, not stored.
  CHECK(r.sent.size() == 16);
  CHECK(r.policy.stats().rate_limited == 1000 - 16);
  // Once the buckets have refilled they carry no state and make room again.
  r.loop.advance(15s);
  r.policy.on_hairpin(kSourceSpoke, icmp_packet(1, 1, 9));
  CHECK(r.sent.size() == 17);
}

TEST_CASE("redirect: an inner packet without a full IP header is counted, nothing is sent") {
  RedirectFixture r;
  const Bytes full = icmp_packet();
  const Bytes shortened(full.begin(), full.begin() + 12);
  r.policy.on_hairpin(kSourceSpoke, shortened);
  r.policy.on_hairpin(kSourceSpoke, Bytes{});
  Bytes not_ip = icmp_packet();
  not_ip[0] = std::byte{0x15};
  r.policy.on_hairpin(kSourceSpoke, not_ip);
  CHECK(r.sent.empty());
  CHECK(r.policy.stats().unparseable == 3);
  CHECK(r.policy.stats().hairpins == 3);
}

TEST_CASE("redirect: disabled, nothing is sent; reconfigure applies a new rate") {
  RedirectConfig off;
  off.enabled = false;
  RedirectFixture r(off);
  r.policy.on_hairpin(kSourceSpoke, icmp_packet());
  CHECK(r.sent.empty());
  CHECK(r.policy.stats().hairpins == 1);

  RedirectConfig fast;
  fast.rate = {1.0, 2.0};
  r.policy.reconfigure(fast, nhrp::Sender{kHubNbma, kHubProtocol, nhrp::Dialect::Cisco, std::nullopt});
  for (int i = 0; i < 3; ++i) r.policy.on_hairpin(kSourceSpoke, icmp_packet());
  CHECK(r.sent.size() == 2);
}

TEST_CASE("redirect: through the hub the indication goes to the spoke's NBMA as an NHRP frame") {
  HubFixture f;
  f.hub->redirect().on_hairpin(kNatted.outer, icmp_packet());
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kNatted.outer);
  const nhrp::Packet ti = f.take_one();  // also checks GRE 0x2001 and TOS 0xC0
  CHECK(ti.type == nhrp::PacketType::TrafficIndication);
  CHECK(ti.hop_count == 255);
  CHECK(f.hub->stats().sent[8] == 1);
}

}  // namespace
}  // namespace advpnd::hub::testing
