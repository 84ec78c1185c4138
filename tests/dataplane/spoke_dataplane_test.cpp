// SpokeDataplane over the in-memory fabric (fakes/in_memory_fabric.h) and an
// in-memory TUN (dataplane/in_memory_device.h), with the fake clock: route
// selection, counters, DSCP, MTU and ICMP, drops, and the route switch that
// must not lose a packet.
#include "dataplane/spoke_dataplane.h"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "base/log.h"
#include "dataplane/in_memory_device.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "nhrp/types.h"
#include "tests/dataplane/packets.h"

namespace advpnd::dataplane {
namespace {

using namespace std::chrono_literals;
using shortcut::Prefix;
using test::counters_of;
using test::sequence_of;
using test::u16_at;
using test::udp_packet;
using test::UdpSpec;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const IpAddress kSpokeNbma = ip("192.0.2.1");
const IpAddress kPeerB = ip("192.0.2.2");
const IpAddress kPeerC = ip("192.0.2.3");
const IpAddress kHub = ip("192.0.2.254");
const IpAddress kHub2 = ip("192.0.2.253");
const IpAddress kSelf = ip("10.0.0.1");

struct Frame {
  IpAddress from;
  std::uint16_t protocol = 0;
  std::uint8_t tos = 0;
  std::vector<std::byte> payload;
};

// An NBMA node that records what reaches it and can send overlay frames.
struct Node {
  Node(fakes::InMemoryFabric& fabric, IpAddress address) {
    auto made = fabric.create_endpoint(address);
    REQUIRE(made.ok());
    endpoint = std::move(made).value();
    endpoint->set_handlers({[this](const NbmaFrame& f) {
                              frames.push_back({f.outer_source, f.gre_protocol, f.tos,
                                                std::vector<std::byte>(f.payload.begin(), f.payload.end())});
                            },
                            {}});
  }
  void send_to(const IpAddress& to, std::span<const std::byte> packet, std::uint16_t protocol = 0x0800) {
    REQUIRE(endpoint->send(to, protocol, packet, 0).ok());
  }
  std::unique_ptr<fakes::FabricTransport> endpoint;
  std::vector<Frame> frames;
};

struct Rig {
  explicit Rig(SpokeDataplaneConfig config = {})
      : fabric(loop), hub(fabric, kHub), b(fabric, kPeerB), c(fabric, kPeerC) {
    log::set_level(log::Level::Error);
    auto made = fabric.create_endpoint(kSpokeNbma);
    REQUIRE(made.ok());
    transport = std::move(made).value();
    if (config.hub_nbma.empty()) config.hub_nbma = kHub;
    dataplane = std::make_unique<SpokeDataplane>(config, device, *transport, loop);
    // What the Nhc does with frames that are not NHRP.
    transport->set_handlers({[this](const NbmaFrame& f) { dataplane->on_frame(f); }, {}});
  }
  ~Rig() { log::set_level(log::Level::Info); }

  // The host sends these packets into the TUN as one burst.
  void host_sends(const std::vector<std::vector<std::byte>>& burst) {
    device.inject(burst);
    loop.run_until_idle();
  }
  void host_sends(const std::vector<std::byte>& packet) { host_sends(std::vector<std::vector<std::byte>>{packet}); }
  std::vector<std::byte> to(const char* destination, std::size_t size = 100, std::uint32_t sequence = 0) {
    UdpSpec spec{kSelf, ip(destination), size};
    spec.sequence = sequence;
    return udp_packet(spec);
  }

  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric;
  Node hub;
  Node b;
  Node c;
  InMemoryDevice device{"mem0", 1476};
  std::unique_ptr<fakes::FabricTransport> transport;
  std::unique_ptr<SpokeDataplane> dataplane;
};

TEST_CASE("spoke: without a shortcut packets go to the hub; a shortcut takes its prefix, the longest prefix wins") {
  Rig rig;
  rig.host_sends(rig.to("10.0.0.7"));
  REQUIRE(rig.hub.frames.size() == 1);
  CHECK(rig.hub.frames[0].from == kSpokeNbma);
  CHECK(rig.hub.frames[0].protocol == nhrp::kGreProtocolIpv4);
  CHECK(rig.hub.frames[0].payload == rig.to("10.0.0.7"));

  rig.dataplane->route_via_peer(Prefix::of(ip("10.0.0.0"), 24), kPeerB, 0);
  rig.dataplane->route_via_peer(Prefix::host(ip("10.0.0.7")), kPeerC, 0);
  rig.host_sends({rig.to("10.0.0.7"), rig.to("10.0.0.8"), rig.to("10.0.1.1")});
  CHECK(rig.c.frames.size() == 1);
  CHECK(rig.b.frames.size() == 1);
  CHECK(rig.hub.frames.size() == 2);
  CHECK(sequence_of(rig.c.frames[0].payload) == 0);
  CHECK(rig.dataplane->stats().packets_to_peers == 2);
  CHECK(rig.dataplane->stats().packets_to_hub == 2);
  CHECK(rig.dataplane->next_hop(ip("10.0.0.7")).shortcut);
  CHECK_FALSE(rig.dataplane->next_hop(ip("10.0.1.1")).shortcut);

  // The /32 goes back to the hub path: the /24 shortcut covers it again.
  rig.dataplane->route_via_hub(Prefix::host(ip("10.0.0.7")));
  rig.host_sends(rig.to("10.0.0.7"));
  CHECK(rig.b.frames.size() == 2);
  rig.dataplane->route_via_hub(Prefix::of(ip("10.0.0.0"), 24));
  rig.host_sends(rig.to("10.0.0.7"));
  CHECK(rig.hub.frames.size() == 3);
  CHECK(rig.dataplane->stats().drops.total() == 0);
}

TEST_CASE("spoke: per-peer counters count both directions by NBMA peer, with the last use") {
  Rig rig;
  CHECK_FALSE(rig.dataplane->counters(kPeerB).has_value());
  rig.dataplane->route_via_peer(Prefix::host(ip("10.0.0.2")), kPeerB, 0);
  REQUIRE(rig.dataplane->counters(kPeerB).has_value());  // known from the route on
  CHECK(counters_of(*rig.dataplane, kPeerB).packets_out == 0);

  rig.loop.advance(5s);
  const MonotonicTime sent_at = rig.loop.now();
  rig.host_sends({rig.to("10.0.0.2", 100), rig.to("10.0.0.2", 200), rig.to("10.0.0.2", 300)});
  rig.loop.advance(5s);
  const MonotonicTime received_at = rig.loop.now();
  const auto reply = udp_packet({ip("10.0.0.2"), kSelf, 400});
  rig.b.send_to(kSpokeNbma, reply);
  rig.b.send_to(kSpokeNbma, reply);
  rig.loop.run_until_idle();

  const auto counters = rig.dataplane->counters(kPeerB);
  REQUIRE(counters.has_value());
  CHECK(counters->packets_out == 3);
  CHECK(counters->bytes_out == 600);
  CHECK(counters->packets_in == 2);
  CHECK(counters->bytes_in == 800);
  const PeerStats* stats = rig.dataplane->peer_stats(kPeerB);
  REQUIRE(stats != nullptr);
  CHECK(stats->last_out == sent_at);
  CHECK(stats->last_in == received_at);
  CHECK(stats->last_used() == received_at);

  // Received packets reach the host unchanged; the hub has counters of its own.
  REQUIRE(rig.device.written().size() == 2);
  CHECK(rig.device.written()[0] == reply);
  CHECK(rig.dataplane->stats().packets_from_nbma == 2);
  rig.host_sends(rig.to("10.9.9.9", 50));
  CHECK(counters_of(*rig.dataplane, kHub).packets_out == 1);
  CHECK(counters_of(*rig.dataplane, kPeerB).packets_out == 3);
}

TEST_CASE("spoke: the inner DSCP/ECN byte is the outer TOS, both ways of routing") {
  Rig rig;
  rig.dataplane->route_via_peer(Prefix::host(ip("10.0.0.2")), kPeerB, 0);
  for (const std::uint8_t tos : {0x00, 0xB8, 0x2E, 0x01, 0xFF}) {
    UdpSpec voice{kSelf, ip("10.0.0.2"), 200, tos};
    UdpSpec via_hub{kSelf, ip("10.0.0.3"), 200, tos};
    rig.host_sends({udp_packet(voice), udp_packet(via_hub)});
    CHECK(rig.b.frames.back().tos == tos);
    CHECK(rig.hub.frames.back().tos == tos);
  }
}

TEST_CASE("spoke: a packet too big for the route with DF gets ICMP fragmentation needed, without DF it is sent") {
  Rig rig;
  rig.dataplane->route_via_peer(Prefix::host(ip("10.0.0.2")), kPeerB, 1000);  // inner MTU 1000 - 20 - 4
  CHECK(rig.dataplane->next_hop(ip("10.0.0.2")).max_inner == 976);
  CHECK(rig.dataplane->next_hop(ip("10.0.0.3")).max_inner == 1476);  // hub: default 1500

  UdpSpec fits{kSelf, ip("10.0.0.2"), 976, 0, true};
  UdpSpec too_big{kSelf, ip("10.0.0.2"), 977, 0xB8, true};
  const auto big = udp_packet(too_big);
  rig.host_sends({udp_packet(fits), big});
  CHECK(rig.b.frames.size() == 1);
  CHECK(rig.dataplane->stats().drops[DropReason::TooBig] == 1);
  CHECK(rig.dataplane->stats().icmp_sent == 1);

  REQUIRE(rig.device.written().size() == 1);
  const std::vector<std::byte> icmp = rig.device.written()[0];
  auto header = parse_inner_ipv4(icmp);
  REQUIRE(header.ok());
  CHECK(header->protocol == kIpProtocolIcmp);
  CHECK(header->source == ip("10.0.0.2"));  // from the unreachable destination
  CHECK(header->destination == kSelf);      // back to the sender
  CHECK(ipv4_checksum(std::span<const std::byte>(icmp).first(20)) == 0);
  const auto message = std::span<const std::byte>(icmp).subspan(20);
  CHECK(std::to_integer<int>(message[0]) == 3);
  CHECK(std::to_integer<int>(message[1]) == 4);
  CHECK(u16_at(message, 6) == 976);  // RFC 1191 Next-Hop MTU
  CHECK(ipv4_checksum(message) == 0);
  REQUIRE(message.size() == 8 + 28);
  CHECK(std::equal(message.begin() + 8, message.end(), big.begin()));

  // Without DF the packet goes; the kernel fragments the outer packet.
  too_big.dont_fragment = false;
  rig.host_sends(udp_packet(too_big));
  CHECK(rig.b.frames.size() == 2);
  CHECK(rig.b.frames.back().payload.size() == 977);
  CHECK(rig.dataplane->stats().fragmented == 1);

  // MTU 0 (and anything below 576) means the default.
  rig.dataplane->route_via_peer(Prefix::host(ip("10.0.0.2")), kPeerB, 0);
  CHECK(rig.dataplane->next_hop(ip("10.0.0.2")).max_inner == 1476);
  rig.dataplane->route_via_peer(Prefix::host(ip("10.0.0.2")), kPeerB, 100);
  CHECK(rig.dataplane->next_hop(ip("10.0.0.2")).max_inner == 1476);
}

TEST_CASE("spoke: with a GRE key the overhead is 28; ICMP errors are rate limited per sender") {
  SpokeDataplaneConfig config;
  config.gre_key = true;
  config.default_mtu = 1400;
  config.icmp_rate = TokenRate{1.0, 3.0};
  Rig rig(config);
  CHECK(rig.dataplane->next_hop(ip("10.0.0.3")).max_inner == 1372);
  const std::vector<std::vector<std::byte>> burst(10, udp_packet({kSelf, ip("10.0.0.3"), 1373, 0, true}));
  rig.host_sends(burst);
  CHECK(rig.hub.frames.empty());
  CHECK(rig.dataplane->stats().drops[DropReason::TooBig] == 10);
  CHECK(rig.dataplane->stats().icmp_sent == 3);
  CHECK(rig.dataplane->stats().icmp_rate_limited == 7);
  CHECK(rig.device.written().size() == 3);
  rig.loop.advance(1s);
  rig.host_sends(burst.front());
  CHECK(rig.dataplane->stats().icmp_sent == 4);

  // Never an ICMP error about an ICMP error.
  auto icmp_error = udp_packet({kSelf, ip("10.0.0.3"), 1373, 0, true});
  icmp_error[9] = std::byte{kIpProtocolIcmp};
  icmp_error[20] = std::byte{3};
  rig.loop.advance(10s);
  rig.host_sends(icmp_error);
  CHECK(rig.dataplane->stats().icmp_sent == 4);
}

TEST_CASE("spoke: drops are counted by reason") {
  Rig rig;
  auto v6 = rig.to("10.0.0.2");
  v6[0] = std::byte{0x60};
  auto truncated = rig.to("10.0.0.2");
  truncated.resize(12);
  rig.host_sends({v6, truncated});
  CHECK(rig.dataplane->stats().drops[DropReason::NotIpv4] == 1);
  CHECK(rig.dataplane->stats().drops[DropReason::Malformed] == 1);

  // No NHS up: nowhere to send what has no shortcut.
  rig.dataplane->set_hub_nbma({});
  rig.host_sends(rig.to("10.0.0.2"));
  CHECK(rig.dataplane->stats().drops[DropReason::NoRoute] == 1);
  CHECK(rig.hub.frames.empty());

  // From the NBMA side: IPv6 over GRE is not carried yet, junk is malformed,
  // a TUN that refuses the write is counted.
  rig.b.send_to(kSpokeNbma, rig.to("10.0.0.1"), nhrp::kGreProtocolIpv6);
  rig.b.send_to(kSpokeNbma, truncated);
  rig.loop.run_until_idle();
  CHECK(rig.dataplane->stats().drops[DropReason::NotIpv4] == 2);
  CHECK(rig.dataplane->stats().drops[DropReason::Malformed] == 2);
  rig.device.set_fail_writes(true);
  rig.b.send_to(kSpokeNbma, udp_packet({ip("10.0.0.2"), kSelf, 100}));
  rig.loop.run_until_idle();
  CHECK(rig.dataplane->stats().drops[DropReason::DeviceWriteFailed] == 1);
  CHECK(rig.device.written().empty());

  // Link padding after the datagram is not written to the host.
  rig.device.set_fail_writes(false);
  auto padded = udp_packet({ip("10.0.0.2"), kSelf, 100});
  padded.resize(130);
  rig.b.send_to(kSpokeNbma, padded);
  rig.loop.run_until_idle();
  REQUIRE(rig.device.written().size() == 1);
  CHECK(rig.device.written()[0].size() == 100);
}

TEST_CASE("spoke: hub fail-over moves hub traffic to the new primary at once") {
  Rig rig;
  Node hub2(rig.fabric, kHub2);
  rig.host_sends(rig.to("10.0.0.9"));
  rig.dataplane->set_hub_nbma(kHub2);
  rig.host_sends(rig.to("10.0.0.9"));
  CHECK(rig.hub.frames.size() == 1);
  CHECK(hub2.frames.size() == 1);
  CHECK(rig.dataplane->hub_nbma() == kHub2);
}

TEST_CASE("spoke: switching routes mid-stream loses no packet: 1000 packets arrive once each, in order") {
  Rig rig;
  struct Sent {
    IpAddress to;
    std::int64_t sequence;
  };
  std::vector<Sent> on_wire;
  rig.fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.sender == kSpokeNbma) on_wire.push_back({record.destination, sequence_of(record.payload)});
  });
  const Prefix prefix = Prefix::host(ip("10.0.0.2"));
  std::vector<IpAddress> expected;
  std::uint32_t sequence = 0;
  // Bursts of 1..7 packets; between bursts the route flips (make before
  // break and back), as the shortcut layer does it on the loop.
  for (int burst_index = 0; sequence < 1000; ++burst_index) {
    const bool via_peer = burst_index % 2 == 1;
    if (via_peer) {
      rig.dataplane->route_via_peer(prefix, kPeerB, 0);
    } else {
      rig.dataplane->route_via_hub(prefix);
    }
    std::vector<std::vector<std::byte>> burst;
    for (int i = 0; i < 1 + burst_index % 7 && sequence < 1000; ++i) {
      burst.push_back(rig.to("10.0.0.2", 100, sequence++));
      expected.push_back(via_peer ? kPeerB : kHub);
    }
    rig.device.inject(burst);
    if (burst_index % 3 == 0) rig.loop.run_until_idle();  // sometimes frames are still in flight at a switch
  }
  rig.loop.run_until_idle();

  REQUIRE(on_wire.size() == 1000);
  for (std::size_t i = 0; i < on_wire.size(); ++i) {
    CHECK(on_wire[i].sequence == static_cast<std::int64_t>(i));
    CHECK(on_wire[i].to == expected[i]);
  }
  // Delivered: each path in order, together every packet exactly once.
  std::vector<bool> seen(1000, false);
  for (const Node* node : {&rig.hub, &rig.b}) {
    std::int64_t last = -1;
    for (const Frame& frame : node->frames) {
      const std::int64_t s = sequence_of(frame.payload);
      REQUIRE(s >= 0);
      REQUIRE(s < 1000);
      CHECK(s > last);
      last = s;
      CHECK_FALSE(seen[static_cast<std::size_t>(s)]);
      seen[static_cast<std::size_t>(s)] = true;
    }
  }
  CHECK(std::count(seen.begin(), seen.end(), true) == 1000);
  CHECK(rig.hub.frames.size() + rig.b.frames.size() == 1000);
  CHECK(rig.dataplane->stats().drops.total() == 0);
}

}  // namespace
}  // namespace advpnd::dataplane
