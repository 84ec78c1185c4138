// Unique registrations (RFC 2332 5.2.3 U bit, 5.2.4 code 14; NHRP-WIRE.md
// 8.1): Cisco refuses another NBMA until the unique binding expires; FRR
// style (unique_overwrite) replaces it and purges what resolvers were given.
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using nhrp::PacketType;

// Claims kSpokeA's tunnel address from another NBMA.
const Spoke kImposter = station(IpAddress::v4(198, 51, 100, 9), kSpokeA.protocol, IpAddress::v4(198, 51, 100, 9));

const nhrp::Packet* sent_to(const std::vector<nhrp::Packet>& packets, const std::vector<IpAddress>& destinations,
                            const IpAddress& destination, PacketType type) {
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (destinations[i] == destination && packets[i].type == type) return &packets[i];
  }
  return nullptr;
}

TEST_CASE("unique: another NBMA is refused with code 14 until the binding expires") {
  HubFixture f;
  f.register_spoke(kSpokeA, 60);

  nhrp::Packet reply = f.register_spoke(kImposter, 60);
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::UniqueAddressRegistered);
  CHECK(reply.cies[0].holding_time == 0);  // RFC 2332 5.2.4: 0 on a NAK
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.cached(kImposter) == nullptr);
  CHECK(f.store.bindings().size() == 1);
  REQUIRE(f.audit_count(db::AuditKind::Refused) == 1);
  const auto events = f.audit();
  CHECK(events.back().kind == db::AuditKind::Refused);
  CHECK(events.back().nbma == kImposter.nbma);
  CHECK(events.back().reason.find(kSpokeA.nbma.to_string()) != std::string::npos);

  // Still refused shortly before expiry (Cisco keeps rejecting, 8.1) ...
  f.loop.advance(50s);
  CHECK(f.register_spoke(kImposter, 60).cies.at(0).code == CieCode::UniqueAddressRegistered);
  CHECK(f.audit_count(db::AuditKind::Refused) == 2);

  // ... and accepted once the holding time has run out and the sweep ran.
  f.loop.advance(10s + f.config.sweep_interval + 1s);
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.audit_count(db::AuditKind::Expired) == 1);
  reply = f.register_spoke(kImposter, 60);
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(reply.cies.at(0).holding_time == 60);
  CHECK(f.cached(kImposter) != nullptr);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.store.bindings().size() == 1);
}

TEST_CASE("unique: an expired binding no longer blocks, even before the sweep removed it") {
  HubFixture f;
  f.register_spoke(kSpokeA, 3);
  f.loop.advance(3s);  // expired (expires_at <= now); the first sweep is at 5 s
  REQUIRE(f.cached(kSpokeA) != nullptr);
  CHECK(f.register_spoke(kImposter, 60).cies.at(0).code == CieCode::Success);
  CHECK(f.cached(kImposter) != nullptr);
  f.loop.advance(2s);  // the sweep takes the expired one away
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.store.bindings().size() == 1);
}

TEST_CASE("unique: a non-unique registration also yields to a live unique binding") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600, /*unique=*/true);
  CHECK(f.register_spoke(kImposter, 600, /*unique=*/false).cies.at(0).code == CieCode::UniqueAddressRegistered);
  CHECK(f.hub->cache().size() == 1);
}

TEST_CASE("unique: non-unique registrations of one address from two NBMAs are both kept") {
  HubFixture f;
  CHECK(f.register_spoke(kSpokeA, 600, false).cies.at(0).code == CieCode::Success);
  CHECK(f.register_spoke(kImposter, 600, false).cies.at(0).code == CieCode::Success);
  CHECK(f.hub->cache().size() == 2);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.cached(kImposter) != nullptr);
  CHECK(f.store.bindings().size() == 2);
  CHECK(f.audit_count(db::AuditKind::Registered) == 2);
  CHECK(f.audit_count(db::AuditKind::Refused) == 0);
  CHECK(f.audit_count(db::AuditKind::Replaced) == 0);
}

TEST_CASE("unique: two unique claims in the same batch: the first wins, the second gets 14") {
  HubFixture f;
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
  f.receive(kImposter, nhrp::build_registration_request(registration(kImposter, 2, 600)));
  CHECK(f.transport.sent.empty());
  f.end_batch();
  REQUIRE(f.transport.sent.size() == 2);
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  CHECK(f.transport.sent[1].destination == kImposter.outer);
  const auto replies = f.take_sent();
  CHECK(replies[0].cies.at(0).code == CieCode::Success);
  CHECK(replies[1].cies.at(0).code == CieCode::UniqueAddressRegistered);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.store.commit_attempts() == 1);
}

TEST_CASE("unique: unique_overwrite replaces the binding and purges its resolvers") {
  NhsConfig config = hub_config();
  config.unique_overwrite = true;
  HubFixture f(config);
  f.register_spoke(kSpokeA, 600);

  // C resolves A: it now holds A's binding.
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 41)));
  const nhrp::Packet answer = f.take_one();
  REQUIRE(answer.cies.size() == 1);
  CHECK(answer.cies[0].nbma == kSpokeA.nbma);

  f.receive(kImposter, nhrp::build_registration_request(registration(kImposter, 5, 600)));
  f.end_batch();
  std::vector<IpAddress> destinations;
  for (const SentFrame& frame : f.transport.sent) destinations.push_back(frame.destination);
  const auto packets = f.take_sent();
  REQUIRE(packets.size() == 2);

  const nhrp::Packet* reply = sent_to(packets, destinations, kImposter.outer, PacketType::RegistrationReply);
  REQUIRE(reply != nullptr);
  CHECK(reply->cies.at(0).code == CieCode::Success);

  const nhrp::Packet* purge = sent_to(packets, destinations, kSpokeC.outer, PacketType::PurgeRequest);
  REQUIRE(purge != nullptr);
  CHECK(purge->src_nbma == kHubNbma);
  CHECK(purge->src_protocol == kHubProtocol);
  CHECK(purge->dst_protocol == kSpokeC.protocol);
  CHECK((purge->flags & nhrp::flags::kPurgeN) == 0);  // a reply is wanted
  REQUIRE(purge->cies.size() == 1);
  CHECK(purge->cies[0].protocol == kSpokeA.protocol);
  CHECK(purge->cies[0].nbma == kSpokeA.nbma);
  CHECK(purge->cies[0].prefix_length == 32);

  CHECK(f.hub->cache().size() == 1);
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.cached(kImposter) != nullptr);
  REQUIRE(f.store.bindings().size() == 1);
  CHECK(f.store.bindings().begin()->first.nbma == kImposter.nbma);
  CHECK(f.audit_count(db::AuditKind::Replaced) == 1);
  const auto events = f.audit();
  bool replaced_names_old = false;
  for (const db::AuditEvent& e : events) {
    if (e.kind == db::AuditKind::Replaced) replaced_names_old = e.nbma == kSpokeA.nbma;
  }
  CHECK(replaced_names_old);
  CHECK(f.hub->stats().sent[5] == 1);
}

TEST_CASE("unique: with unique_overwrite a refused commit keeps the old binding and purges nobody") {
  NhsConfig config = hub_config();
  config.unique_overwrite = true;
  HubFixture f(config);
  f.register_spoke(kSpokeA, 600);
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 41)));
  (void)f.take_one();

  f.store.fail_next_commits(db::StoreErrorKind::Busy);
  const nhrp::Packet reply = f.register_spoke(kImposter, 600);  // exactly one packet: no purge
  CHECK(reply.cies.at(0).code == CieCode::InsufficientResources);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.cached(kImposter) == nullptr);
  CHECK(f.store.bindings().size() == 1);
}

}  // namespace
}  // namespace advpnd::hub::testing
