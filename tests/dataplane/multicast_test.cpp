// Link-local multicast for IGPs (dataplane/multicast.h): spoke -> its NHSs,
// hub -> its device and every other registered spoke, hub's device -> every
// spoke; TTL untouched, no hair-pin, rate bounds per source and in total,
// other multicast dropped. Over the in-process mission (tests/dataplane/
// mission.h: the daemon's assembly, fake clock, in-memory devices).
#include "dataplane/multicast.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "dataplane/hub_dataplane.h"
#include "dataplane/spoke_dataplane.h"
#include "tests/dataplane/mission.h"

namespace advpnd::dataplane {
namespace {

using namespace std::chrono_literals;
using test::counters_of;
using test::ip;
using test::kHubNbma;
using test::kHubProtocol;
using test::Mission;
using test::Spoke;
using test::udp_packet;
using test::UdpSpec;

const IpAddress kAllSpfRouters = ip("224.0.0.5");  // RFC 2328 A.1

// An OSPF-like datagram: to `group`, TTL 1 unless told (RFC 2328 A.1).
std::vector<std::byte> multicast_from(const IpAddress& source, const IpAddress& group, std::uint32_t sequence = 0,
                                      std::uint8_t ttl = 1) {
  UdpSpec spec{source, group, 80, 0xC0};  // DSCP CS6, as routing protocols mark
  spec.ttl = ttl;
  spec.sequence = sequence;
  return udp_packet(spec);
}

std::size_t frames_to(Mission& m, const IpAddress& sender) {
  std::size_t count = 0;
  for (const auto& spoke : m.spokes) {
    if (spoke->nbma != sender) count += spoke->device.written().size();
  }
  return count;
}

TEST_CASE("multicast: a spoke's link-local multicast reaches the hub's device and the N-1 other spokes, TTL 1 kept") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  Spoke& c = m.add_spoke("198.51.100.4", "10.0.0.4");
  Spoke& d = m.add_spoke("198.51.100.5", "10.0.0.5");
  m.settle();
  REQUIRE(m.hub.server->cache().size() == 4);
  // The node wired the NHS that is up as the spoke's multicast target.
  CHECK(a.dataplane->nhs_nbmas() == std::vector<IpAddress>{kHubNbma});

  std::vector<IpAddress> hub_sent_to;
  m.fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.sender == kHubNbma && record.gre_protocol == 0x0800) hub_sent_to.push_back(record.destination);
  });
  const auto hello = multicast_from(a.protocol, kAllSpfRouters, 1);
  a.device.inject(hello);
  m.settle();

  CHECK(a.dataplane->stats().multicast.copies_out == 1);  // one NHS: one copy
  CHECK(a.dataplane->stats().packets_to_hub == 0);        // not unicast routing
  // The hub's own IGP sees it, byte for byte (TTL 1 is not decremented).
  REQUIRE(m.hub.device.written().size() == 1);
  CHECK(m.hub.device.written()[0] == hello);
  // Every other spoke gets one copy; the sender none.
  std::sort(hub_sent_to.begin(), hub_sent_to.end());
  CHECK(hub_sent_to == std::vector<IpAddress>{b.nbma, c.nbma, d.nbma});
  CHECK(a.device.written().empty());
  for (Spoke* spoke : {&b, &c, &d}) {
    REQUIRE(spoke->device.written().size() == 1);
    CHECK(spoke->device.written()[0] == hello);
    CHECK(std::to_integer<int>(spoke->device.written()[0][8]) == 1);  // TTL
  }
  const MulticastStats& s = m.hub.dataplane->stats().multicast;
  CHECK(s.frames_in == 1);
  CHECK(s.copies_out == 3);
  CHECK(s.to_device == 1);
  // Not routed: no hair-pin, no Traffic Indication, no TTL drop.
  CHECK(m.hub.dataplane->stats().hairpinned == 0);
  CHECK(m.hub.redirects().hairpins == 0);
  CHECK(m.hub.redirects().indications_sent == 0);
  CHECK(m.hub.dataplane->stats().drops.total() == 0);
}

TEST_CASE("multicast: the hub's own link-local multicast goes to every registered spoke once") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  const auto hello = multicast_from(kHubProtocol, kAllSpfRouters);
  const auto to_dr = multicast_from(kHubProtocol, ip("224.0.0.6"));
  m.hub.device.inject(std::vector<std::vector<std::byte>>{hello, to_dr});
  m.settle();
  for (Spoke* spoke : {&a, &b}) {
    REQUIRE(spoke->device.written().size() == 2);
    CHECK(spoke->device.written()[0] == hello);
    CHECK(spoke->device.written()[1] == to_dr);
  }
  CHECK(m.hub.dataplane->stats().multicast.frames_in == 2);
  CHECK(m.hub.dataplane->stats().multicast.copies_out == 4);
  CHECK(m.hub.dataplane->stats().drops.total() == 0);
}

TEST_CASE("multicast: other multicast is dropped and counted at the spoke and at the hub") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  // 224.0.1.1 (NTP) and 239/8 need a multicast router: not carried.
  a.device.inject(std::vector<std::vector<std::byte>>{multicast_from(a.protocol, ip("224.0.1.1"), 0, 8),
                                                      multicast_from(a.protocol, ip("239.1.2.3"), 0, 8)});
  m.settle();
  CHECK(a.dataplane->stats().multicast.not_link_local == 2);
  CHECK(a.dataplane->stats().drops[DropReason::Multicast] == 2);
  CHECK(a.dataplane->stats().packets_to_hub == 0);
  CHECK(m.hub.device.written().empty());

  // One sent around a's dataplane, straight from its NBMA endpoint.
  REQUIRE(a.transport->send(kHubNbma, 0x0800, multicast_from(a.protocol, ip("239.1.2.3"), 0, 8), 0).ok());
  m.hub.device.inject(multicast_from(kHubProtocol, ip("232.1.1.1"), 0, 8));
  m.settle();
  CHECK(m.hub.dataplane->stats().multicast.not_link_local == 2);
  CHECK(m.hub.dataplane->stats().drops[DropReason::Multicast] == 2);
  CHECK(m.hub.dataplane->stats().multicast.copies_out == 0);
  CHECK(m.hub.device.written().empty());
  CHECK(b.device.written().empty());
}

TEST_CASE("multicast: the per-spoke bound drops a flood, the other spokes keep their share of the total") {
  MulticastConfig hub_bounds;
  hub_bounds.per_source = {1.0, 5.0};  // 5 at once, then 1 a second
  hub_bounds.total = {100.0, 8.0};     // 8 at once from all spokes together
  Mission m({}, hub_bounds);
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  Spoke& c = m.add_spoke("198.51.100.4", "10.0.0.4");
  m.settle();

  std::vector<std::vector<std::byte>> flood;
  for (std::uint32_t i = 0; i < 20; ++i) flood.push_back(multicast_from(a.protocol, kAllSpfRouters, i));
  a.device.inject(flood);
  m.settle();
  const HubDataplaneStats& s = m.hub.dataplane->stats();
  CHECK(a.dataplane->stats().multicast.copies_out == 20);  // the spoke's own bound (1000 at once) let them all go
  CHECK(s.multicast.frames_in == 5);
  CHECK(s.multicast.rate_limited_source == 15);
  CHECK(s.multicast.rate_limited_total == 0);
  CHECK(s.drops[DropReason::MulticastRateLimited] == 15);
  CHECK(s.multicast.copies_out == 10);  // 5 each to b and c
  CHECK(b.device.written().size() == 5);
  CHECK(m.hub.device.written().size() == 5);

  // b has its own 5, but only 3 are left of the total.
  std::vector<std::vector<std::byte>> from_b;
  for (std::uint32_t i = 0; i < 5; ++i) from_b.push_back(multicast_from(b.protocol, kAllSpfRouters, i));
  b.device.inject(from_b);
  m.settle();
  CHECK(s.multicast.frames_in == 8);
  CHECK(s.multicast.rate_limited_total == 2);
  CHECK(s.drops[DropReason::MulticastRateLimited] == 17);

  // A second later a has one token again.
  m.loop.advance(1s);
  a.device.inject(std::vector<std::vector<std::byte>>{multicast_from(a.protocol, kAllSpfRouters, 100),
                                                      multicast_from(a.protocol, kAllSpfRouters, 101)});
  m.settle();
  CHECK(s.multicast.frames_in == 9);
  CHECK(s.multicast.rate_limited_source == 16);
  CHECK(frames_to(m, a.nbma) == 6 + 9);   // b: 5 + 1; c: 5 + 3 (b's) + 1
  CHECK(a.device.written().size() == 3);  // b's 3
  CHECK(c.device.written().size() == 9);
  // Unicast is not bounded by any of this.
  const auto unicast = a.packet_to(kHubProtocol, 7);
  a.device.inject(unicast);
  m.settle();
  CHECK(m.hub.device.written().back() == unicast);
}

TEST_CASE("multicast: the spoke's total bound and [multicast] enabled = false") {
  MulticastConfig spoke_bounds;
  spoke_bounds.total = {1.0, 3.0};
  MulticastConfig off;
  off.enabled = false;
  Mission m({}, off);
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2", {}, spoke_bounds);
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3", {}, off);
  m.settle();

  std::vector<std::vector<std::byte>> flood;
  for (std::uint32_t i = 0; i < 10; ++i) flood.push_back(multicast_from(a.protocol, kAllSpfRouters, i));
  a.device.inject(flood);
  m.settle();
  CHECK(a.dataplane->stats().multicast.frames_in == 3);
  CHECK(a.dataplane->stats().multicast.copies_out == 3);
  CHECK(a.dataplane->stats().multicast.rate_limited_total == 7);
  CHECK(a.dataplane->stats().drops[DropReason::MulticastRateLimited] == 7);
  // The hub has replication off: the 3 that arrived are dropped there.
  CHECK(m.hub.dataplane->stats().multicast.disabled == 3);
  CHECK(m.hub.dataplane->stats().drops[DropReason::Multicast] == 3);
  CHECK(m.hub.device.written().empty());
  CHECK(b.device.written().empty());

  b.device.inject(multicast_from(b.protocol, kAllSpfRouters));
  m.settle();
  CHECK(b.dataplane->stats().multicast.disabled == 1);
  CHECK(b.dataplane->stats().multicast.copies_out == 0);
  CHECK(m.hub.dataplane->stats().multicast.disabled == 3);  // nothing more arrived
}

TEST_CASE("multicast: a spoke sends one copy to each NHS that is up, none when no NHS is up") {
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  test::QuietLogs quiet;
  std::vector<IpAddress> seen;
  fabric.set_observer([&](const fakes::FabricRecord& record) { seen.push_back(record.destination); });
  auto made = fabric.create_endpoint(ip("192.0.2.1"));
  REQUIRE(made.ok());
  auto transport = std::move(made).value();
  InMemoryDevice device{"spoke0", 1476};
  SpokeDataplane dataplane({}, device, *transport, loop);
  const IpAddress nhs1 = ip("192.0.2.254");
  const IpAddress nhs2 = ip("192.0.2.253");

  device.inject(multicast_from(ip("10.0.0.9"), kAllSpfRouters));
  loop.run_until_idle();
  CHECK(seen.empty());
  CHECK(dataplane.stats().multicast.no_receiver == 1);
  CHECK(dataplane.stats().drops[DropReason::NoRoute] == 1);

  dataplane.set_nhs_nbmas({nhs1, nhs2});
  device.inject(multicast_from(ip("10.0.0.9"), kAllSpfRouters));
  loop.run_until_idle();
  CHECK(seen == std::vector<IpAddress>{nhs1, nhs2});
  CHECK(dataplane.stats().multicast.copies_out == 2);
  CHECK(counters_of(dataplane, nhs2).packets_out == 1);
}

TEST_CASE("multicast: address classes (RFC 5771)") {
  CHECK(is_link_local_multicast(ip("224.0.0.5")));
  CHECK(is_link_local_multicast(ip("224.0.0.255")));
  CHECK_FALSE(is_link_local_multicast(ip("224.0.1.1")));
  CHECK_FALSE(is_link_local_multicast(ip("10.0.0.5")));
  CHECK_FALSE(is_link_local_multicast(ip("ff02::5")));
  CHECK(is_ipv4_multicast(ip("239.255.255.255")));
  CHECK_FALSE(is_ipv4_multicast(ip("240.0.0.1")));
  CHECK_FALSE(is_ipv4_multicast(ip("223.255.255.255")));
}

}  // namespace
}  // namespace advpnd::dataplane

namespace advpnd::dataplane {
namespace {

TEST_CASE("multicast: a GRE source that holds no registration floods nothing") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();
  std::vector<IpAddress> hub_sent_to;
  m.fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.sender == kHubNbma && record.gre_protocol == 0x0800) hub_sent_to.push_back(record.destination);
  });
  // A stranger on the NBMA network: the hub's dataplane sees its frame, no registration stands behind it.
  m.hub.dataplane->on_frame(NbmaFrame{IpAddress::v4(198, 51, 100, 99), kHubNbma, 0x0800, 0xC0,
                                      multicast_from(IpAddress::v4(10, 0, 0, 99), kAllSpfRouters, 1)});
  m.settle();
  const MulticastStats& s = m.hub.dataplane->stats().multicast;
  CHECK(s.not_registered == 1);
  CHECK(s.frames_in == 0);
  CHECK(s.copies_out == 0);
  CHECK(hub_sent_to.empty());
  CHECK(m.hub.device.written().empty());
  CHECK(a.device.written().empty());
  CHECK(m.hub.dataplane->stats().drops[DropReason::Multicast] == 1);
}

}  // namespace
}  // namespace advpnd::dataplane
