// Purge Request/Reply (RFC 2332 5.2.5, 5.2.6; NHRP-WIRE.md 8.4): a spoke
// purges its own registration; the hub purges the copies it handed to
// resolvers when a binding goes, retransmitting until a Purge Reply.
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using nhrp::PacketType;

nhrp::Packet purge_from(const Spoke& spoke, std::uint32_t id, const IpAddress& target, bool no_reply = false) {
  nhrp::PurgeRequestSpec spec;
  spec.sender = spoke.sender();
  spec.dst_protocol = kHubProtocol;
  spec.request_id = id;
  spec.no_reply = no_reply;
  nhrp::Cie cie;
  cie.prefix_length = 0xFF;
  cie.protocol = target;
  spec.cies.push_back(cie);
  return nhrp::build_purge_request(spec);
}

// C resolves `target` through the hub, so the hub records C as a holder.
void resolve(HubFixture& f, const Spoke& who, const IpAddress& target) {
  f.receive(who, nhrp::build_resolution_request(resolution(who, target, 500)));
  const nhrp::Packet reply = f.take_one();
  REQUIRE(reply.cies.at(0).code == CieCode::Success);
}

TEST_CASE("purge: a spoke purges its own binding; removed after the commit, then a Purge Reply") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  const nhrp::Packet request = purge_from(kSpokeA, 61, kSpokeA.protocol);
  f.receive(kSpokeA, request);
  CHECK(f.transport.sent.empty());         // held until the removal is durable
  CHECK(f.cached(kSpokeA) != nullptr);      // the cache holds only what is committed
  CHECK(f.store.bindings().size() == 1);

  f.end_batch();
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.store.bindings().empty());
  CHECK(f.audit_count(db::AuditKind::Purged) == 1);
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.type == PacketType::PurgeReply);
  CHECK(reply.request_id == 61);
  CHECK(reply.src_protocol == kSpokeA.protocol);
  CHECK(reply.cies == request.cies);  // RFC 2332 5.2.6: the request, type changed
  CHECK(reply.hop_count == 255);
  CHECK(f.hub->stats().received[5] == 1);
  CHECK(f.hub->stats().sent[6] == 1);

  // A resolution now finds nothing.
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 9)));
  CHECK(f.take_one().cies.at(0).code == CieCode::NoBindingExists);
}

TEST_CASE("purge: with the N bit the binding goes and no reply is sent") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  f.receive(kSpokeA, purge_from(kSpokeA, 62, kSpokeA.protocol, /*no_reply=*/true));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.store.bindings().empty());
}

TEST_CASE("purge: a purge whose commit fails is not acknowledged and removes nothing") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  f.store.fail_next_commits(db::StoreErrorKind::Busy);
  f.receive(kSpokeA, purge_from(kSpokeA, 63, kSpokeA.protocol));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.store.bindings().size() == 1);
}

TEST_CASE("purge: a station cannot purge another station's binding") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  f.register_spoke(kSpokeB, 600);
  f.receive(kSpokeB, purge_from(kSpokeB, 64, kSpokeA.protocol));
  f.end_batch();
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.cached(kSpokeB) != nullptr);
  CHECK(f.store.bindings().size() == 2);
  CHECK(f.audit_count(db::AuditKind::Purged) == 0);
  CHECK(f.hub->stats().error_count("purge matched no binding") == 1);
  // RFC 2332 5.2.5: answered even when nothing matched.
  CHECK(f.take_one().type == PacketType::PurgeReply);
}

// Two spokes behind different NATs claiming the same private NBMA are two
// different stations (db/binding.h: "spokes behind different NATs claiming
// the same private NBMA"); one must not be able to purge the other.
TEST_CASE("purge: a spoke behind another NAT with the same private NBMA cannot purge the first one") {
  HubFixture f;
  const Spoke first = station(ip("192.168.1.10"), ip("10.0.0.5"), ip("198.51.100.20"));
  const Spoke second = station(ip("192.168.1.10"), ip("10.0.0.6"), ip("198.51.100.30"));
  f.register_spoke(first, 600);
  f.register_spoke(second, 600);
  REQUIRE(f.hub->cache().size() == 2);

  f.receive(second, purge_from(second, 65, first.protocol));
  f.end_batch();
  CHECK(f.cached(first) != nullptr);
  CHECK(f.store.bindings().size() == 2);
  CHECK(f.audit_count(db::AuditKind::Purged) == 0);
}

TEST_CASE("purge: clearing a binding purges the resolvers it was given, retransmitting until a reply") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  resolve(f, kSpokeC, kSpokeA.protocol);
  resolve(f, kSpokeB, kSpokeA.protocol);

  REQUIRE(f.hub->clear_registration(kSpokeA.protocol).ok());
  REQUIRE(f.transport.sent.size() == 2);
  // One Purge Request to each resolver, in no particular order.
  const bool c_first = f.transport.sent[0].destination == kSpokeC.outer;
  CHECK(f.transport.sent[c_first ? 1 : 0].destination == kSpokeB.outer);
  const auto purges = f.take_sent();
  for (const nhrp::Packet& purge : purges) {
    CHECK(purge.type == PacketType::PurgeRequest);
    CHECK(purge.src_nbma == kHubNbma);
    REQUIRE(purge.cies.size() == 1);
    CHECK(purge.cies[0].protocol == kSpokeA.protocol);
    CHECK(purge.cies[0].nbma == kSpokeA.nbma);
  }
  const nhrp::Packet& to_c = purges[c_first ? 0 : 1];
  const nhrp::Packet& to_b = purges[c_first ? 1 : 0];
  CHECK(to_c.dst_protocol == kSpokeC.protocol);
  CHECK(to_b.dst_protocol == kSpokeB.protocol);
  CHECK(to_c.request_id != to_b.request_id);

  // C answers; B does not.
  f.receive(kSpokeC, nhrp::build_purge_reply(to_c, kSpokeC.sender()));
  CHECK(f.transport.sent.empty());

  f.loop.advance(1s);
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeB.outer);
  const nhrp::Packet retry = f.take_one();
  CHECK(retry.request_id == to_b.request_id);  // a retransmission reuses the ID (3.2)
  CHECK(retry.cies == to_b.cies);

  SUBCASE("a reply stops the retransmissions") {
    f.receive(kSpokeB, nhrp::build_purge_reply(retry, kSpokeB.sender()));
    f.loop.advance(120s);
    CHECK(f.transport.sent.empty());
    CHECK(f.hub->stats().error_count("purge reply for no request") == 0);
  }
  SUBCASE("without a reply it gives up after purge_attempts sends") {
    f.loop.advance(600s);
    CHECK(f.transport.sent.size() == static_cast<std::size_t>(f.config.purge_attempts) - 2);
    f.take_sent();
    f.loop.advance(3600s);
    CHECK(f.transport.sent.empty());
    CHECK(f.logs.count(log::Level::Info, "no purge reply from " + kSpokeB.outer.to_string()) == 1);
  }
}

TEST_CASE("purge: a binding that expires before the copy a resolver holds is purged at the resolver") {
  NhsConfig config = hub_config();
  config.purge_retry = 60s;  // no retransmission inside this test's window
  HubFixture f(config);
  f.register_spoke(kSpokeA, 600);
  resolve(f, kSpokeC, kSpokeA.protocol);  // C holds A's binding for 600 s
  f.register_spoke(kSpokeA, 20);           // A refreshes with a much shorter holding time
  f.loop.advance(20s + f.config.sweep_interval);

  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.audit_count(db::AuditKind::Expired) == 1);
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeC.outer);
  const nhrp::Packet purge = f.take_one();
  CHECK(purge.type == PacketType::PurgeRequest);
  CHECK(purge.cies.at(0).protocol == kSpokeA.protocol);
}

TEST_CASE("purge: a binding that expires together with the resolver's copy needs no purge") {
  HubFixture f;
  f.register_spoke(kSpokeA, 60);
  resolve(f, kSpokeC, kSpokeA.protocol);  // C was given the remaining 60 s
  f.loop.advance(60s + f.config.sweep_interval);
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.transport.sent.empty());
}

TEST_CASE("purge: a spoke purging its own binding also purges the resolvers it was given to") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  resolve(f, kSpokeC, kSpokeA.protocol);
  f.receive(kSpokeA, purge_from(kSpokeA, 66, kSpokeA.protocol, /*no_reply=*/true));
  f.end_batch();
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeC.outer);
  CHECK(f.take_one().type == PacketType::PurgeRequest);
}

// RFC 2332 5.2.5: the NHS purges the stations it gave the binding to; a
// station that asked again and again (retransmissions, refreshes at 2/3 of
// the holding time, 8.3 step 6) is still one station.
TEST_CASE("purge: a resolver that asked many times is sent one Purge Request") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  for (int i = 0; i < 100; ++i) resolve(f, kSpokeC, kSpokeA.protocol);
  REQUIRE(f.hub->clear_registration(kSpokeA.protocol).ok());
  CHECK(f.transport.sent.size() == 1);
}

TEST_CASE("purge: a Purge Reply matching no request is counted and ignored") {
  HubFixture f;
  f.receive(kSpokeA, nhrp::build_purge_reply(purge_from(kSpokeA, 999, kSpokeA.protocol), kSpokeA.sender()));
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->stats().error_count("purge reply for no request") == 1);
}

}  // namespace
}  // namespace advpnd::hub::testing
