// Resolution Request/Reply (RFC 2332 5.2.1, 5.2.2, 5.3.2, 5.3.3;
// NHRP-WIRE.md 3.1, 7.3, 7.6, 8.3, 8.5): answered from the committed cache,
// code 12 when nothing matches, forwarded to the owner of a covering prefix.
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using nhrp::Dialect;
using nhrp::ExtensionType;
using nhrp::PacketType;

const IpAddress kLan = IpAddress::v4(192, 168, 2, 0);
const IpAddress kLanHost = IpAddress::v4(192, 168, 2, 20);

// kSpokeB registers the LAN behind it, 192.168.2.0/24 (RFC 2332 5.2.3 prefix).
void register_lan(HubFixture& f) {
  nhrp::Packet request = nhrp::build_registration_request(registration(kSpokeB, 77, 600));
  request.cies.at(0).protocol = kLan;
  request.cies.at(0).prefix_length = 24;
  f.receive(kSpokeB, request);
  f.end_batch();
  CHECK(f.take_one().cies.at(0).code == CieCode::Success);
  REQUIRE(f.hub->cache().find({kLan, 24, kSpokeB.nbma}) != nullptr);
}

void check_error_indication(const nhrp::Packet& ei, nhrp::ErrorCode code, const Bytes& offending,
                            const IpAddress& offender) {
  CHECK(ei.type == PacketType::ErrorIndication);
  CHECK(ei.error_code == code);
  CHECK(ei.src_nbma == kHubNbma);
  CHECK(ei.src_protocol == kHubProtocol);
  CHECK(ei.dst_protocol == offender);
  CHECK(ei.hop_count == 255);
  CHECK(ei.extensions.empty());  // RFC 2332 5.2.7: no extensions
  CHECK(ei.payload == offending);
}

TEST_CASE("resolution: answered at once from the cache, authoritative, holding time = what remains") {
  for (const Dialect dialect : {Dialect::Cisco, Dialect::Frr}) {
    CAPTURE(static_cast<int>(dialect));
    HubFixture f;
    f.register_spoke(kSpokeA, 7200);
    f.loop.advance(100s);

    const Spoke requester = kSpokeC.with_dialect(dialect);
    const nhrp::Packet request = nhrp::build_resolution_request(resolution(requester, kSpokeA.protocol, 21));
    f.receive(requester, request);
    REQUIRE(f.transport.sent.size() == 1);  // no batch end needed: read from the committed cache
    CHECK(f.transport.sent[0].destination == kSpokeC.outer);
    const nhrp::Packet reply = f.take_one();

    CHECK(reply.type == PacketType::ResolutionReply);
    CHECK(reply.request_id == 21);
    CHECK(reply.src_nbma == kSpokeC.nbma);  // replies keep the request's addresses (3.3)
    CHECK(reply.src_protocol == kSpokeC.protocol);
    CHECK(reply.dst_protocol == kSpokeA.protocol);
    CHECK(reply.hop_count == 255);
    CHECK(reply.flags == 0xF802);  // Cisco hub: Q|A|D|U|S|NAT (3.1)
    CHECK((reply.flags & nhrp::flags::kResolutionA) != 0);
    CHECK(extension_types(reply) == extension_types(request));
    REQUIRE(reply.cies.size() == 1);
    const nhrp::Cie& answer = reply.cies[0];
    CHECK(answer.code == CieCode::Success);
    CHECK(answer.prefix_length == 32);
    CHECK(answer.holding_time == 7100);
    CHECK(answer.mtu == 1400);
    CHECK(answer.nbma == kSpokeA.nbma);
    CHECK(answer.protocol == kSpokeA.protocol);
    const nhrp::Extension* responder = reply.find_extension(ExtensionType::ResponderAddress);
    REQUIRE(responder != nullptr);
    REQUIRE(responder->cies.size() == 1);
    CHECK(responder->cies[0].nbma == kHubNbma);
    CHECK(responder->cies[0].protocol == kHubProtocol);
    const nhrp::Extension* nat = reply.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE(nat != nullptr);
    CHECK(nat->cies.empty());  // A is not NATted
    CHECK(f.hub->stats().received[1] == 1);
    CHECK(f.hub->stats().sent[2] == 1);
    CHECK(f.store.commit_attempts() == 1);  // a resolution writes nothing
  }
}

TEST_CASE("resolution: an FRR-dialect hub copies Q and S and adds A and D (0xE800), hop 64") {
  HubFixture f(hub_config(Dialect::Frr));
  f.register_spoke(kSpokeA);
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC.with_dialect(Dialect::Frr), kSpokeA.protocol, 3)));
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.flags == 0xE800);
  CHECK(reply.hop_count == 64);
  CHECK(reply.cies.at(0).code == CieCode::Success);
}

TEST_CASE("resolution: a NATted target's post-NAT NBMA is in the NAT extension (7.6)") {
  HubFixture f;
  f.register_spoke(kNatted, 600);
  f.receive(kSpokeA, nhrp::build_resolution_request(resolution(kSpokeA, kNatted.protocol, 8)));
  const nhrp::Packet reply = f.take_one();
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].nbma == kNatted.nbma);  // as claimed
  const nhrp::Extension* nat = reply.find_extension(ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].protocol == kNatted.protocol);  // the requester looks it up by protocol
  CHECK(nat->cies[0].nbma == kNatted.outer);
  CHECK(nat->cies[0].holding_time == 0);
}

TEST_CASE("resolution: nothing registered -> code 12 with holding time 0") {
  HubFixture f;
  f.register_spoke(kSpokeA);
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, ip("10.0.0.77"), 4)));
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.type == PacketType::ResolutionReply);
  CHECK(reply.request_id == 4);
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::NoBindingExists);
  CHECK(reply.cies[0].holding_time == 0);
  CHECK(f.hub->stats().error_count("no binding for resolution") == 1);
}

TEST_CASE("resolution: an expired, not yet swept binding is not handed out") {
  HubFixture f;
  f.register_spoke(kSpokeA, 3);
  f.loop.advance(3s);  // expired; the first sweep is at 5 s
  REQUIRE(f.cached(kSpokeA) != nullptr);
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 4)));
  CHECK(f.take_one().cies.at(0).code == CieCode::NoBindingExists);
}

TEST_CASE("resolution: a target behind a registered prefix is forwarded to that spoke (8.3 step 3)") {
  for (const Dialect dialect : {Dialect::Cisco, Dialect::Frr}) {
    CAPTURE(static_cast<int>(dialect));
    HubFixture f;
    register_lan(f);
    const Spoke requester = kSpokeA.with_dialect(dialect);
    const nhrp::Packet request = nhrp::build_resolution_request(resolution(requester, kLanHost, 31));
    f.receive(requester, request);

    REQUIRE(f.transport.sent.size() == 1);
    CHECK(f.transport.sent[0].destination == kSpokeB.outer);
    const nhrp::Packet forwarded = f.take_one();
    CHECK(forwarded.type == PacketType::ResolutionRequest);
    CHECK(forwarded.hop_count == request.hop_count - 1);
    CHECK(forwarded.request_id == 31);
    CHECK(forwarded.flags == request.flags);
    CHECK(forwarded.src_nbma == kSpokeA.nbma);
    CHECK(forwarded.src_protocol == kSpokeA.protocol);
    CHECK(forwarded.dst_protocol == kLanHost);
    CHECK(forwarded.cies == request.cies);
    CHECK(extension_types(forwarded) == extension_types(request));
    const nhrp::Extension* transit = forwarded.find_extension(ExtensionType::ForwardTransit);
    REQUIRE(transit != nullptr);
    REQUIRE(transit->cies.size() == 1);
    CHECK(transit->cies[0].nbma == kHubNbma);
    CHECK(transit->cies[0].protocol == kHubProtocol);
    CHECK(transit->cies[0].prefix_length == 0);  // 7.3
    CHECK(transit->cies[0].code == CieCode::Success);
    // Nothing answered to the requester by the hub itself.
    CHECK(f.hub->stats().sent[2] == 0);
    CHECK(f.hub->stats().sent[1] == 1);
  }
}

TEST_CASE("resolution: a forwarding hub fills an empty NAT extension with a NATted requester's address") {
  HubFixture f;
  register_lan(f);
  f.receive(kNatted, nhrp::build_resolution_request(resolution(kNatted, kLanHost, 32)));
  const nhrp::Packet forwarded = f.take_one();
  const nhrp::Extension* nat = forwarded.find_extension(ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].nbma == kNatted.outer);
  CHECK(nat->cies[0].protocol == kNatted.protocol);
}

TEST_CASE("resolution: the responder's reply is relayed back to the requester with a Reverse Transit CIE") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  register_lan(f);
  f.receive(kSpokeA, nhrp::build_resolution_request(resolution(kSpokeA, kLanHost, 33)));
  const nhrp::Packet forwarded = f.take_one();

  // B answers for its LAN (8.3 step 4) and routes the reply through the hub.
  nhrp::Cie answer;
  answer.prefix_length = 24;
  answer.holding_time = 600;
  answer.nbma = kSpokeB.nbma;
  answer.protocol = kSpokeB.protocol;
  nhrp::ReplySpec spec;
  spec.sender = kSpokeB.sender();
  spec.responder = answer;
  const nhrp::Packet reply = nhrp::build_resolution_reply(forwarded, std::span<const nhrp::Cie>(&answer, 1), spec);
  f.receive(kSpokeB, reply);

  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  const nhrp::Packet relayed = f.take_one();
  CHECK(relayed.type == PacketType::ResolutionReply);
  CHECK(relayed.request_id == 33);
  CHECK(relayed.hop_count == reply.hop_count - 1);
  CHECK(relayed.cies == reply.cies);
  const nhrp::Extension* reverse = relayed.find_extension(ExtensionType::ReverseTransit);
  REQUIRE(reverse != nullptr);
  REQUIRE(reverse->cies.size() == 1);
  CHECK(reverse->cies[0].nbma == kHubNbma);
}

TEST_CASE("resolution: the hub finding itself in Forward Transit reports a loop (Error Indication 3)") {
  HubFixture f;
  register_lan(f);
  nhrp::Packet request = nhrp::build_resolution_request(resolution(kSpokeA, kLanHost, 34));
  nhrp::Cie hub_record;
  hub_record.nbma = kHubNbma;
  hub_record.protocol = kHubProtocol;
  request.find_extension(ExtensionType::ForwardTransit)->cies.push_back(hub_record);
  const Bytes bytes = encode_ok(request);
  f.receive_bytes(kSpokeA.outer, bytes);

  REQUIRE(f.transport.sent.size() == 1);  // only the indication: nothing forwarded
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  check_error_indication(f.take_one(), nhrp::ErrorCode::LoopDetected, bytes, kSpokeA.protocol);
  CHECK(f.hub->stats().error_count("loop detected") == 1);
  CHECK(f.hub->stats().sent[7] == 1);
}

TEST_CASE("resolution: a request with no hops left is not forwarded (Error Indication 15)") {
  HubFixture f;
  register_lan(f);
  nhrp::Packet request = nhrp::build_resolution_request(resolution(kSpokeA, kLanHost, 35));
  request.hop_count = 0;
  const Bytes bytes = encode_ok(request);
  f.receive_bytes(kSpokeA.outer, bytes);

  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  const nhrp::Packet ei = f.take_one();
  check_error_indication(ei, nhrp::ErrorCode::HopCountExceeded, bytes, kSpokeA.protocol);
  CHECK(ei.error_offset == 9);  // ar$hopcnt
  CHECK(f.hub->stats().error_count("hop count exceeded") == 1);
}

// NHRP-WIRE.md 8.5 / RFC 2332 5.2.0.1: "An NHS that would forward a packet
// arriving with 0 sends Error 15"; 8.3 step 3: "A hop count of 0 at the hub
// produces Error 15". A request arriving with 1 still has a hop left.
TEST_CASE("resolution: a request arriving with hop count 1 is forwarded with hop count 0") {
  HubFixture f;
  register_lan(f);
  nhrp::Packet request = nhrp::build_resolution_request(resolution(kSpokeA, kLanHost, 36));
  request.hop_count = 1;
  f.receive(kSpokeA, request);
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeB.outer);
  const nhrp::Packet forwarded = f.take_one();
  CHECK(forwarded.type == PacketType::ResolutionRequest);
  CHECK(forwarded.hop_count == 0);
}

TEST_CASE("resolution: the hub's own tunnel address is answered with the hub's NBMA") {
  HubFixture f;
  f.receive(kSpokeA, nhrp::build_resolution_request(resolution(kSpokeA, kHubProtocol, 37)));
  const nhrp::Packet reply = f.take_one();
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::Success);
  CHECK(reply.cies[0].nbma == kHubNbma);
  CHECK(reply.cies[0].protocol == kHubProtocol);
  CHECK(reply.cies[0].prefix_length == 32);
  CHECK(reply.cies[0].holding_time == f.config.max_holding_time);
}

TEST_CASE("resolution: the prefix owner asking about its own LAN is answered, not sent its own request") {
  HubFixture f;
  register_lan(f);
  f.receive(kSpokeB, nhrp::build_resolution_request(resolution(kSpokeB, kLanHost, 38)));
  REQUIRE(f.transport.sent.size() == 1);
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.type == PacketType::ResolutionReply);
  CHECK(reply.cies.at(0).prefix_length == 24);
  CHECK(reply.cies.at(0).nbma == kSpokeB.nbma);
}

}  // namespace
}  // namespace advpnd::hub::testing
