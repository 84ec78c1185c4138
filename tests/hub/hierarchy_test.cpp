// NHS hierarchy (issue #11, Cisco hierarchical DMVPN phase 3): regional
// hubs register their own address at a central hub (node::HubNode with
// `upstream`, the spoke's registration machine), forward the resolutions
// they cannot answer and have no route for up to it, the central hub
// forwards along its routes down to the other regional hub, which answers
// from its bindings; the reply comes back hop by hop along the path the
// request took (RFC 2332 5.3.3), with the transit records of every NHS it
// crossed and the hop count decremented at each. All over the in-memory
// fabric and the fake loop.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <vector>

#include "base/log.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "node/hub_node.h"
#include "shortcut/prefix.h"
#include "tests/hub/fabric_station.h"

namespace advpnd::hub {
namespace {

using test::ip;
using Quiet = test::QuietLogs;

// One hub: a HubNode (control plane only) with a route table of its own.
struct Hub {
  Hub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address, IpAddress protocol_address,
      std::vector<UpstreamNhs> upstream = {})
      : nbma(nbma_address), protocol(protocol_address) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    node::HubNodeConfig config;
    config.nhs.nbma = nbma;
    config.nhs.protocol = protocol;
    config.nhs.overlay_prefix_length = 8;  // the whole 10/8 is the overlay of every tier
    config.nhs.upstream = std::move(upstream);
    node = std::make_unique<node::HubNode>(config, node::HubSeams{*transport, store, loop, loop, nullptr});
    node->nhs().set_route_next_hop([this](const IpAddress& destination) -> std::optional<IpAddress> {
      for (const auto& [prefix, next_hop] : routes) {
        if (prefix.contains(destination)) return next_hop;
      }
      return std::nullopt;
    });
    REQUIRE(node->start().ok());
  }
  UpstreamNhs as_upstream() const { return {protocol, nbma}; }
  bool holds(const IpAddress& address) const { return !node->nhs().cache().find_address(address, 32).empty(); }

  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> transport;
  db::FakeRegistrationStore store;
  std::unique_ptr<node::HubNode> node;
  std::vector<std::pair<shortcut::Prefix, IpAddress>> routes;
};

using Spoke = test::FabricStation;

std::vector<IpAddress> transit(const nhrp::Packet& packet, nhrp::ExtensionType type) {
  std::vector<IpAddress> stations;
  if (const nhrp::Extension* record = packet.find_extension(type)) {
    for (const nhrp::Cie& cie : record->cies) stations.push_back(cie.nbma);
  }
  return stations;
}

// Central hub C; regional hubs R1 and R2 registered at it; spoke A under
// R1, spoke B under R2. C routes each region's addresses to its hub (as
// BGP would); the regional hubs have no routes: what they do not know goes
// up to C.
struct TwoTiers {
  Quiet quiet;
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric{loop};
  Hub central{fabric, loop, ip("203.0.113.1"), ip("10.0.0.1")};
  Hub r1{fabric, loop, ip("203.0.113.11"), ip("10.1.0.1"), {central.as_upstream()}};
  Hub r2{fabric, loop, ip("203.0.113.12"), ip("10.2.0.1"), {central.as_upstream()}};
  Spoke a{fabric, ip("198.51.100.1"), ip("10.1.0.2")};
  Spoke b{fabric, ip("198.51.100.2"), ip("10.2.0.2")};

  TwoTiers() {
    central.routes.push_back({shortcut::Prefix::of(ip("10.1.0.0"), 16), r1.protocol});
    central.routes.push_back({shortcut::Prefix::of(ip("10.2.0.0"), 16), r2.protocol});
    a.register_at(r1.nbma, r1.protocol, 1);
    b.register_at(r2.nbma, r2.protocol, 2);
    loop.run_until_idle();
  }
};

TEST_CASE("hierarchy: regional hubs register their own address at the central hub") {
  TwoTiers net;
  CHECK(net.central.holds(net.r1.protocol));
  CHECK(net.central.holds(net.r2.protocol));
  CHECK(net.central.node->nhs().cache().find_address(net.r1.protocol, 32).front()->key.nbma == net.r1.nbma);
  CHECK(net.r1.holds(net.a.protocol));
  CHECK_FALSE(net.central.holds(net.a.protocol));  // spokes register only at their own region
  REQUIRE(net.r1.node->upstream() != nullptr);
  CHECK(net.r1.node->upstream()->up_count() == 1);
  CHECK(net.central.node->upstream() == nullptr);
  // The replies were taken by the regional hub's registration, not counted as stray by its NHS.
  CHECK(net.r1.node->nhs().stats().error_count("unexpected registration reply") == 0);
}

TEST_CASE("hierarchy: a resolution climbs to the central hub, comes down to the other region, and back") {
  TwoTiers net;
  net.a.received.clear();
  std::vector<std::pair<IpAddress, IpAddress>> hops;  // (from, to) of every Resolution Request
  std::vector<std::uint8_t> request_hop_counts;
  net.fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.gre_protocol != nhrp::kGreProtocolNhrp) return;
    auto packet = nhrp::decode(record.payload);
    REQUIRE(packet.ok());
    if (packet->type == nhrp::PacketType::ResolutionRequest) {
      hops.emplace_back(record.sender, record.destination);
      request_hop_counts.push_back(packet->hop_count);
    }
  });
  net.a.resolve_at(net.r1.nbma, net.b.protocol, 77);
  net.loop.run_until_idle();

  // A -> R1 (no binding, no route: upstream) -> C (route to R2) -> R2 (B's binding).
  using Hop = std::pair<IpAddress, IpAddress>;
  CHECK(hops == std::vector<Hop>{{net.a.nbma, net.r1.nbma}, {net.r1.nbma, net.central.nbma},
                                 {net.central.nbma, net.r2.nbma}});
  REQUIRE(request_hop_counts.size() == 3);
  CHECK(request_hop_counts[1] == request_hop_counts[0] - 1);
  CHECK(request_hop_counts[2] == request_hop_counts[0] - 2);

  // R2 answered from B's binding; the reply came back R2 -> C -> R1 -> A.
  const Spoke::Received* reply = net.a.last_of(nhrp::PacketType::ResolutionReply);
  REQUIRE(reply != nullptr);
  CHECK(reply->from == net.r1.nbma);
  REQUIRE(reply->packet.cies.size() == 1);
  CHECK(reply->packet.cies[0].code == nhrp::CieCode::Success);
  CHECK(reply->packet.cies[0].nbma == net.b.nbma);
  CHECK(reply->packet.cies[0].protocol == net.b.protocol);
  CHECK(reply->packet.request_id == 77);
  CHECK(transit(reply->packet, nhrp::ExtensionType::ForwardTransit) ==
        std::vector<IpAddress>{net.r1.nbma, net.central.nbma});
  CHECK(transit(reply->packet, nhrp::ExtensionType::ReverseTransit) ==
        std::vector<IpAddress>{net.central.nbma, net.r1.nbma});
  const nhrp::Extension* responder = reply->packet.find_extension(nhrp::ExtensionType::ResponderAddress);
  REQUIRE(responder != nullptr);
  REQUIRE(responder->cies.size() == 1);
  CHECK(responder->cies[0].nbma == net.r2.nbma);  // the authority: B's own regional hub
}

TEST_CASE("hierarchy: an unknown target climbs once and is refused (code 12), no loop between tiers") {
  TwoTiers net;
  net.a.received.clear();
  int requests = 0;
  net.fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.gre_protocol != nhrp::kGreProtocolNhrp) return;
    auto packet = nhrp::decode(record.payload);
    if (packet.ok() && packet->type == nhrp::PacketType::ResolutionRequest) ++requests;
  });
  net.a.resolve_at(net.r1.nbma, ip("10.9.9.9"), 78);  // nobody's, no route at C
  net.loop.run_until_idle();
  CHECK(requests == 2);  // A -> R1 -> C, and C does not send it back down to R1
  const Spoke::Received* reply = net.a.last_of(nhrp::PacketType::ResolutionReply);
  REQUIRE(reply != nullptr);
  REQUIRE(reply->packet.cies.size() == 1);
  CHECK(reply->packet.cies[0].code == nhrp::CieCode::NoBindingExists);
}

TEST_CASE("hierarchy: a route at the central hub back to the asking region is not followed") {
  TwoTiers net;
  net.central.routes.emplace_back(shortcut::Prefix::of(ip("10.7.0.0"), 16), net.r1.protocol);
  net.a.received.clear();
  net.a.resolve_at(net.r1.nbma, ip("10.7.0.5"), 79);
  net.loop.run_until_idle();
  const Spoke::Received* reply = net.a.last_of(nhrp::PacketType::ResolutionReply);
  REQUIRE(reply != nullptr);
  CHECK(reply->packet.cies[0].code == nhrp::CieCode::NoBindingExists);
  CHECK(net.central.node->nhs().stats().error_count("route next hop is the requester") == 1);
}

TEST_CASE("hierarchy: a regional hub that stops purges its registration at the central hub") {
  TwoTiers net;
  REQUIRE(net.central.holds(net.r1.protocol));
  net.r1.node->stop();
  net.loop.run_until_idle();
  CHECK_FALSE(net.central.holds(net.r1.protocol));
  CHECK(net.central.holds(net.r2.protocol));
}

}  // namespace
}  // namespace advpnd::hub
