// Resolution along routes (hub/resolution.cpp forward_along_route, RFC 2332
// 5.3): a hub with no binding for the target forwards the Resolution
// Request to the binding of the route's overlay next hop (a spoke that
// registered only its /32 and announces its LAN by BGP), with a Forward
// Transit record and the hop count decremented; NHSs whose routes go round
// in a circle end with the RFC's loop-detected Error Indication (RFC 2332
// 5.3.4, code 3: NHRP-WIRE.md), not a storm; two that point at each other
// never send a request back where it came from.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "base/log.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "hub/next_hop_server.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "shortcut/prefix.h"
#include "tests/hub/fabric_station.h"

namespace advpnd::hub {
namespace {

using test::ip;
using test::send_nhrp;
using Station = test::FabricStation;
using Quiet = test::QuietLogs;

// A hub with a route table of its own: destination prefix -> overlay next hop.
struct RoutedHub {
  RoutedHub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address, IpAddress protocol_address)
      : nbma(nbma_address), protocol(protocol_address) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    NhsConfig config;
    config.nbma = nbma;
    config.protocol = protocol;
    server = std::make_unique<NextHopServer>(config, *transport, store, loop, loop);
    REQUIRE(server->start().ok());
    server->set_route_next_hop([this](const IpAddress& destination) -> std::optional<IpAddress> {
      for (const auto& [prefix, next_hop] : routes) {
        if (prefix.contains(destination)) return next_hop;
      }
      return std::nullopt;
    });
  }
  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> transport;
  db::FakeRegistrationStore store;
  std::unique_ptr<NextHopServer> server;
  std::vector<std::pair<shortcut::Prefix, IpAddress>> routes;
};

// `who` registers its /32 at `hub`, sending from `from` (a spoke's endpoint, or another hub's).
void register_at(NbmaTransport& from, const nhrp::Sender& who, const RoutedHub& hub, std::uint32_t request_id) {
  test::register_host(from, who, hub.nbma, hub.protocol, request_id);
}

void resolve(Station& from, const RoutedHub& hub, const IpAddress& target, std::uint32_t request_id) {
  from.resolve_at(hub.nbma, target, request_id);
}

TEST_CASE("route resolution: a LAN behind a spoke that registered only its /32 is resolved through the route") {
  Quiet quiet;
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  RoutedHub hub(fabric, loop, ip("203.0.113.1"), ip("10.0.0.1"));
  Station a(fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  Station b(fabric, ip("198.51.100.3"), ip("10.0.0.3"));
  register_at(*a.endpoint, a.sender(), hub, 1);
  register_at(*b.endpoint, b.sender(), hub, 2);
  loop.run_until_idle();
  REQUIRE(hub.server->cache().size() == 2);
  a.received.clear();
  b.received.clear();
  hub.routes.push_back({shortcut::Prefix::of(ip("10.1.2.0"), 24), b.protocol});  // BGP: 10.1.2.0/24 via 10.0.0.3

  resolve(a, hub, ip("10.1.2.20"), 7);
  loop.run_until_idle();
  CHECK(a.received.empty());
  REQUIRE(b.received.size() == 1);
  const nhrp::Packet forwarded = b.received.front().packet;
  CHECK(forwarded.type == nhrp::PacketType::ResolutionRequest);
  CHECK(forwarded.dst_protocol == ip("10.1.2.20"));
  CHECK(forwarded.hop_count == nhrp::kCiscoHopCount - 1);
  const nhrp::Extension* transit = forwarded.find_extension(nhrp::ExtensionType::ForwardTransit);
  REQUIRE(transit != nullptr);
  REQUIRE(transit->cies.size() == 1);
  CHECK(transit->cies[0].nbma == hub.nbma);

  SUBCASE("b answers with its route's prefix; the hub relays the reply to a") {
    nhrp::Cie cie;
    cie.prefix_length = 24;
    cie.holding_time = 600;
    cie.nbma = b.nbma;
    cie.protocol = b.protocol;
    nhrp::ReplySpec spec;
    spec.sender = b.sender();
    spec.responder = cie;
    send_nhrp(*b.endpoint, hub.nbma, nhrp::build_resolution_reply(forwarded, std::span<const nhrp::Cie>(&cie, 1), spec));
    loop.run_until_idle();
    REQUIRE(a.received.size() == 1);
    CHECK(a.received[0].packet.type == nhrp::PacketType::ResolutionReply);
    CHECK(a.received[0].packet.cies.at(0).nbma == b.nbma);
    CHECK(a.received[0].packet.cies.at(0).prefix_length == 24);
  }
}

TEST_CASE("route resolution: no route, an unregistered next hop, or the requester as next hop: code 12") {
  Quiet quiet;
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  RoutedHub hub(fabric, loop, ip("203.0.113.1"), ip("10.0.0.1"));
  Station a(fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  register_at(*a.endpoint, a.sender(), hub, 1);
  loop.run_until_idle();
  a.received.clear();
  hub.routes.push_back({shortcut::Prefix::of(ip("10.1.2.0"), 24), ip("10.0.0.99")});  // nobody registered .99
  hub.routes.push_back({shortcut::Prefix::of(ip("10.1.1.0"), 24), a.protocol});       // a's own LAN

  for (const char* target : {"10.1.3.1", "10.1.2.1", "10.1.1.1"}) {
    CAPTURE(target);
    resolve(a, hub, ip(target), 9);
    loop.run_until_idle();
    REQUIRE(a.received.size() == 1);
    CHECK(a.received[0].packet.type == nhrp::PacketType::ResolutionReply);
    CHECK(a.received[0].packet.cies.at(0).code == nhrp::CieCode::NoBindingExists);
    a.received.clear();
  }
  CHECK(hub.server->stats().error_count("route next hop without a binding") == 1);
  CHECK(hub.server->stats().error_count("route next hop is the requester") == 1);
}

TEST_CASE("route resolution: three NHSs routing in a circle end with loop detected (code 3), no storm") {
  Quiet quiet;
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  RoutedHub one(fabric, loop, ip("203.0.113.1"), ip("10.0.0.1"));
  RoutedHub two(fabric, loop, ip("203.0.113.2"), ip("10.0.0.254"));
  RoutedHub three(fabric, loop, ip("203.0.113.3"), ip("10.0.0.253"));
  Station a(fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  // Each hub is registered at the one before it in the circle (a hierarchy gone wrong).
  register_at(*two.transport, {two.nbma, two.protocol, nhrp::Dialect::Cisco, std::nullopt}, one, 1);
  register_at(*three.transport, {three.nbma, three.protocol, nhrp::Dialect::Cisco, std::nullopt}, two, 2);
  register_at(*one.transport, {one.nbma, one.protocol, nhrp::Dialect::Cisco, std::nullopt}, three, 4);
  register_at(*a.endpoint, a.sender(), one, 3);
  loop.run_until_idle();
  REQUIRE(one.server->cache().size() == 2);
  REQUIRE(two.server->cache().size() == 1);
  REQUIRE(three.server->cache().size() == 1);
  a.received.clear();
  // 10.1.9.0/24 goes round: one -> two -> three -> one.
  one.routes.push_back({shortcut::Prefix::of(ip("10.1.9.0"), 24), two.protocol});
  two.routes.push_back({shortcut::Prefix::of(ip("10.1.9.0"), 24), three.protocol});
  three.routes.push_back({shortcut::Prefix::of(ip("10.1.9.0"), 24), one.protocol});

  std::map<nhrp::PacketType, int> frames;
  std::vector<nhrp::ErrorCode> errors_to_three;
  fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.gre_protocol != nhrp::kGreProtocolNhrp) return;
    auto packet = nhrp::decode(record.payload);
    REQUIRE(packet.ok());
    ++frames[packet->type];
    if (packet->type == nhrp::PacketType::ErrorIndication && record.destination == three.nbma) {
      errors_to_three.push_back(packet->error_code);
    }
  });
  resolve(a, one, ip("10.1.9.5"), 11);
  loop.run_until_idle();
  // a -> one -> two -> three -> one: one finds itself in the Forward Transit record.
  CHECK(frames[nhrp::PacketType::ResolutionRequest] == 4);
  CHECK(errors_to_three == std::vector<nhrp::ErrorCode>{nhrp::ErrorCode::LoopDetected});
  CHECK(static_cast<int>(nhrp::ErrorCode::LoopDetected) == 3);  // RFC 2332 5.3.4 / NHRP-WIRE.md
  CHECK(one.server->stats().error_count("loop detected") == 1);
  int total = 0;
  for (const auto& [type, count] : frames) total += count;
  CHECK(total == 5);  // and nothing after: no storm
}

TEST_CASE("route resolution: two NHSs routing to each other: never sent back where it came from (code 12)") {
  Quiet quiet;
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  RoutedHub one(fabric, loop, ip("203.0.113.1"), ip("10.0.0.1"));
  RoutedHub two(fabric, loop, ip("203.0.113.2"), ip("10.0.0.254"));
  Station a(fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  register_at(*two.transport, {two.nbma, two.protocol, nhrp::Dialect::Cisco, std::nullopt}, one, 1);
  register_at(*one.transport, {one.nbma, one.protocol, nhrp::Dialect::Cisco, std::nullopt}, two, 2);
  register_at(*a.endpoint, a.sender(), one, 3);
  loop.run_until_idle();
  a.received.clear();
  one.routes.push_back({shortcut::Prefix::of(ip("10.1.9.0"), 24), two.protocol});
  two.routes.push_back({shortcut::Prefix::of(ip("10.1.9.0"), 24), one.protocol});

  std::map<nhrp::PacketType, int> frames;
  fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.gre_protocol != nhrp::kGreProtocolNhrp) return;
    auto packet = nhrp::decode(record.payload);
    REQUIRE(packet.ok());
    ++frames[packet->type];
  });
  resolve(a, one, ip("10.1.9.5"), 12);
  loop.run_until_idle();
  // a -> one -> two; two's route leads back to one, where the request came
  // from: a NAK, relayed by one to a.
  CHECK(frames[nhrp::PacketType::ResolutionRequest] == 2);
  CHECK(frames[nhrp::PacketType::ResolutionReply] == 2);
  CHECK(two.server->stats().error_count("route next hop is the requester") == 1);
  REQUIRE(a.received.size() == 1);
  CHECK(a.received[0].packet.type == nhrp::PacketType::ResolutionReply);
  REQUIRE(a.received[0].packet.cies.size() == 1);
  CHECK(a.received[0].packet.cies[0].code == nhrp::CieCode::NoBindingExists);
}

}  // namespace
}  // namespace advpnd::hub
