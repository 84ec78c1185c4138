// The responder (RFC 2332 5.2.1, 5.2.2, 5.2.5; NHRP-WIRE.md 8.3 step 4):
// a request for a spoke's LAN, forwarded by the real hub, answered
// straight to the requester; NAKs; Purge Requests.
#include "spoke_fixture.h"

namespace advpnd::spoke::testing {
namespace {

using nhrp::PacketType;

const LocalPrefix kLanB{ip("192.168.2.0"), 24};

NhcConfig spoke_b_with_lan(IpAddress nbma = kSpokeBNbma) {
  NhcConfig config = spoke_config(nbma, kSpokeBProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  config.local_prefixes = {kLanB};
  config.register_local_prefixes = true;
  return config;
}

TEST_CASE("responder: answers a request for its LAN forwarded by the hub, straight to the requester") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& a = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  TestSpoke& b = net.add_spoke(spoke_b_with_lan());
  net.run();
  REQUIRE(b.status().state == RegistrationState::Registered);
  // B registered its LAN as a second CIE (RFC 2332 5.2.3).
  CHECK(hub.has_binding(ip("192.168.2.0")));
  CHECK(net.sent(kSpokeBNbma, PacketType::RegistrationRequest).at(0).packet.cies.size() == 2);

  std::optional<ResolutionResult> result;
  a.nhc->resolve(ip("192.168.2.20"), [&](const ResolutionResult& r) { result = r; });
  net.run();

  // The hub forwarded the request to B ...
  auto forwarded = net.sent(kHub1Nbma, PacketType::ResolutionRequest);
  REQUIRE(forwarded.size() == 1);
  CHECK(forwarded[0].destination == kSpokeBNbma);
  CHECK(forwarded[0].packet.hop_count == nhrp::kCiscoHopCount - 1);
  // ... and B answered A directly (Cisco, NHRP-WIRE.md 9.7).
  auto replies = net.sent(kSpokeBNbma, PacketType::ResolutionReply);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].destination == kSpokeANbma);
  const nhrp::Packet& reply = replies[0].packet;
  CHECK(reply.flags == 0xF802);
  CHECK(reply.src_protocol == kSpokeAProtocol);  // replies keep the request's source
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].prefix_length == 24);
  CHECK(reply.cies[0].nbma == kSpokeBNbma);
  CHECK(reply.cies[0].protocol == kSpokeBProtocol);
  CHECK(reply.cies[0].holding_time == 600);
  const nhrp::Extension* responder = reply.find_extension(nhrp::ExtensionType::ResponderAddress);
  REQUIRE(responder != nullptr);
  REQUIRE(responder->cies.size() == 1);
  CHECK(responder->cies[0].protocol == kSpokeBProtocol);

  REQUIRE(result.has_value());
  CHECK(result->ok());
  CHECK(result->prefix == ip("192.168.2.0"));
  CHECK(result->prefix_length == 24);
  CHECK(result->nbma == kSpokeBNbma);
  CHECK(result->protocol == kSpokeBProtocol);
  CHECK(result->answered_by == kSpokeBNbma);

  // B cached A's binding for the shortcut layer.
  auto peer = b.nhc->responder().peers().find(kSpokeAProtocol, net.loop.now());
  REQUIRE(peer.has_value());
  CHECK(peer->nbma == kSpokeANbma);
  CHECK(peer->holding_time == 600);
  CHECK(b.nhc->responder().answered() == 1);
  net.advance(601s);
  CHECK_FALSE(b.nhc->responder().peers().find(kSpokeAProtocol, net.loop.now()).has_value());
}

// Issue #12: the reply gate learns who asked (the identity the tunnel to
// the requester must prove), not what was asked for.
TEST_CASE("responder: the reply gate is told the requester's NBMA and tunnel address") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& a = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  TestSpoke& b = net.add_spoke(spoke_b_with_lan());
  net.run();
  std::vector<std::pair<IpAddress, IpAddress>> gated;
  b.nhc->responder().set_reply_gate(
      [&](const IpAddress& nbma, const IpAddress& protocol, std::function<void(const IpAddress&)> send) {
        gated.emplace_back(nbma, protocol);
        send(nbma);
      });
  std::optional<ResolutionResult> result;
  a.nhc->resolve(ip("192.168.2.20"), [&](const ResolutionResult& r) { result = r; });
  net.run();
  REQUIRE(gated.size() == 1);
  CHECK(gated[0].first == kSpokeANbma);
  CHECK(gated[0].second == kSpokeAProtocol);  // not the target 192.168.2.20
  REQUIRE(result.has_value());
  CHECK(result->ok());
}

TEST_CASE("responder: NAT on both sides: the reply reaches the requester's public NBMA and names ours") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  const IpAddress a_inside = ip("192.168.1.10");
  const IpAddress a_outside = ip("198.51.100.20");
  const IpAddress b_inside = ip("192.168.9.10");
  const IpAddress b_outside = ip("198.51.100.30");
  REQUIRE(net.fabric.add_nat(a_inside, a_outside).ok());
  REQUIRE(net.fabric.add_nat(b_inside, b_outside).ok());
  TestSpoke& a = net.add_spoke(spoke_config(a_inside, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  TestSpoke& b = net.add_spoke(spoke_b_with_lan(b_inside));
  net.run();

  std::optional<ResolutionResult> result;
  a.nhc->resolve(ip("192.168.2.20"), [&](const ResolutionResult& r) { result = r; });
  net.run();
  auto replies = net.sent(b_inside, PacketType::ResolutionReply);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].destination == a_outside);
  const nhrp::Extension* nat = replies[0].packet.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].nbma == b_outside);
  CHECK(nat->cies[0].protocol == kSpokeBProtocol);

  REQUIRE(result.has_value());
  CHECK(result->ok());
  CHECK(result->claimed_nbma == b_inside);
  CHECK(result->nbma == b_outside);
  auto peer = b.nhc->responder().peers().find(kSpokeAProtocol, net.loop.now());
  REQUIRE(peer.has_value());
  CHECK(peer->nbma == a_outside);
  CHECK(peer->claimed_nbma == a_inside);
}

nhrp::Packet request_from(const RawStation& station, const IpAddress& station_protocol, const IpAddress& target,
                          std::uint32_t id) {
  nhrp::ResolutionRequestSpec spec;
  spec.sender = {station.nbma, station_protocol, nhrp::Dialect::Frr, std::nullopt};
  spec.target = target;
  spec.request_id = id;
  return nhrp::build_resolution_request(spec);
}

TEST_CASE("responder: a request for an address not served here gets code 12") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& b = net.add_spoke(spoke_b_with_lan());
  RawStation& requester = net.add_station(ip("198.51.100.50"));
  net.run();
  requester.send(kSpokeBNbma, request_from(requester, ip("10.0.0.50"), ip("172.16.0.1"), 41));
  // Our own tunnel address: answered with the host length.
  requester.send(kSpokeBNbma, request_from(requester, ip("10.0.0.50"), kSpokeBProtocol, 42));
  net.run();
  REQUIRE(requester.received.size() == 2);
  const nhrp::Packet& nak = requester.received[0];
  CHECK(nak.type == PacketType::ResolutionReply);
  CHECK(nak.request_id == 41);
  REQUIRE(nak.cies.size() == 1);
  CHECK(nak.cies[0].code == nhrp::CieCode::NoBindingExists);
  CHECK(nak.cies[0].holding_time == 0);
  CHECK(nak.cies[0].nbma.empty());
  const nhrp::Packet& ok = requester.received[1];
  CHECK(ok.request_id == 42);
  REQUIRE(ok.cies.size() == 1);
  CHECK(ok.cies[0].code == nhrp::CieCode::Success);
  CHECK(ok.cies[0].prefix_length == 32);
  CHECK(b.nhc->responder().refused() == 1);
  CHECK(b.nhc->responder().answered() == 1);
  // Only the positive answer cached the requester.
  CHECK(b.nhc->responder().peers().size() == 1);
}

TEST_CASE("responder: Purge Requests addressed to us clear the peer cache; a reply unless N") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& b = net.add_spoke(spoke_b_with_lan());
  RawStation& peer = net.add_station(ip("198.51.100.50"));
  const IpAddress peer_protocol = ip("10.0.0.50");
  std::vector<PurgedBinding> purged;
  b.nhc->set_purge_handler([&](const PurgedBinding& p) { purged.push_back(p); });
  net.run();
  peer.send(kSpokeBNbma, request_from(peer, peer_protocol, ip("192.168.2.7"), 7));
  net.run();
  REQUIRE(b.nhc->responder().peers().size() == 1);
  peer.received.clear();

  nhrp::PurgeRequestSpec spec;
  spec.sender = {peer.nbma, peer_protocol, nhrp::Dialect::Cisco, std::nullopt};
  spec.dst_protocol = kSpokeBProtocol;
  spec.request_id = 8;
  nhrp::Cie cie;
  cie.prefix_length = 0xFF;
  cie.protocol = peer_protocol;
  spec.cies.push_back(cie);
  peer.send(kSpokeBNbma, nhrp::build_purge_request(spec));
  net.run();
  CHECK(b.nhc->responder().peers().size() == 0);
  REQUIRE(purged.size() == 1);
  CHECK(purged[0].protocol == peer_protocol);
  CHECK(purged[0].purged_by == peer.nbma);
  REQUIRE(peer.received.size() == 1);
  CHECK(peer.received[0].type == PacketType::PurgeReply);
  CHECK(peer.received[0].request_id == 8);

  // The peer resolves through us again (it is a known peer once more) ...
  peer.send(kSpokeBNbma, request_from(peer, peer_protocol, ip("192.168.2.7"), 11));
  net.run();
  REQUIRE(b.nhc->responder().peers().size() == 1);
  peer.received.clear();
  // ... sends one addressed to someone else: ignored ...
  spec.no_reply = true;
  spec.dst_protocol = ip("10.0.0.66");
  spec.request_id = 10;
  peer.send(kSpokeBNbma, nhrp::build_purge_request(spec));
  net.run();
  CHECK(purged.size() == 1);
  // ... then purges with N set: no reply (RFC 2332 5.2.5).
  spec.dst_protocol = kSpokeBProtocol;
  spec.request_id = 9;
  peer.send(kSpokeBNbma, nhrp::build_purge_request(spec));
  net.run();
  CHECK(peer.received.empty());
  CHECK(purged.size() == 2);
  CHECK(b.nhc->stats().error_count("purge request for another station") == 1);
}

TEST_CASE("responder: a Purge Request from a station that is neither NHS nor peer is ignored, unanswered") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& b = net.add_spoke(spoke_b_with_lan());
  RawStation& stranger = net.add_station(ip("198.51.100.66"));
  RawStation& peer = net.add_station(ip("198.51.100.50"));
  std::vector<PurgedBinding> purged;
  b.nhc->set_purge_handler([&](const PurgedBinding& p) { purged.push_back(p); });
  net.run();
  // A real peer of b's, which the stranger tries to have forgotten.
  peer.send(kSpokeBNbma, request_from(peer, ip("10.0.0.50"), ip("192.168.2.7"), 7));
  net.run();
  REQUIRE(b.nhc->responder().peers().size() == 1);

  nhrp::PurgeRequestSpec spec;
  spec.sender = {stranger.nbma, ip("10.0.0.66"), nhrp::Dialect::Cisco, std::nullopt};
  spec.dst_protocol = kSpokeBProtocol;
  spec.request_id = 1;
  nhrp::Cie cie;
  cie.prefix_length = 0xFF;
  cie.protocol = ip("10.0.0.50");
  spec.cies.push_back(cie);
  stranger.send(kSpokeBNbma, nhrp::build_purge_request(spec));
  net.run();
  CHECK(purged.empty());
  CHECK(b.nhc->responder().peers().size() == 1);
  CHECK(stranger.received.empty());
  CHECK(b.nhc->stats().error_count("purge request from a station that is neither NHS nor peer") == 1);

  // With an authorizer that knows the stranger (a shortcut peer of the agent's), it is taken.
  b.nhc->set_purge_authorizer([&](const IpAddress& source) { return source == stranger.nbma; });
  spec.request_id = 2;
  stranger.send(kSpokeBNbma, nhrp::build_purge_request(spec));
  net.run();
  CHECK(purged.size() == 1);
  CHECK(b.nhc->responder().peers().size() == 0);
}

TEST_CASE("responder: when a spoke leaves, the hub purges what it told resolvers; the NHC passes it on") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& a = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  TestSpoke& b = net.add_spoke(spoke_config(kSpokeBNbma, kSpokeBProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  std::vector<PurgedBinding> purged;
  a.nhc->set_purge_handler([&](const PurgedBinding& p) { purged.push_back(p); });
  net.run();
  std::optional<ResolutionResult> result;
  a.nhc->resolve(kSpokeBProtocol, [&](const ResolutionResult& r) { result = r; });
  net.run();
  REQUIRE(result.has_value());
  REQUIRE(result->ok());

  b.nhc->shutdown([] {});
  net.run();
  REQUIRE(purged.size() == 1);
  CHECK(purged[0].protocol == kSpokeBProtocol);
  CHECK(purged[0].nbma == kSpokeBNbma);
  CHECK(purged[0].purged_by == kHub1Nbma);
  auto replies = net.sent(kSpokeANbma, PacketType::PurgeReply);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].destination == kHub1Nbma);
}

}  // namespace
}  // namespace advpnd::spoke::testing
