// Group commit and the store's lifecycle (hub issue; db/registration_store.h
// contract): one transaction per batch, code 5 when it fails, bindings
// served again after a restart, expiry by the sweep, operator clear.
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;

void register_three(HubFixture& f) {
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
  f.receive(kSpokeB, nhrp::build_registration_request(registration(kSpokeB.with_dialect(nhrp::Dialect::Frr), 2, 600)));
  f.receive(kNatted, nhrp::build_registration_request(registration(kNatted, 3, 600)));
}

TEST_CASE("commit: several registrations in one batch make one transaction") {
  HubFixture f;
  register_three(f);
  CHECK(f.transport.sent.empty());
  CHECK(f.store.commit_attempts() == 0);
  f.end_batch();

  CHECK(f.store.commit_attempts() == 1);
  CHECK(f.hub->stats().commits == 1);
  CHECK(f.hub->stats().commit_failures == 0);
  REQUIRE(f.transport.sent.size() == 3);
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  CHECK(f.transport.sent[1].destination == kSpokeB.outer);
  CHECK(f.transport.sent[2].destination == kNatted.outer);
  for (const nhrp::Packet& reply : f.take_sent()) {
    CHECK(reply.cies.at(0).code == CieCode::Success);
    CHECK(reply.cies.at(0).holding_time == 600);
  }
  CHECK(f.hub->cache().size() == 3);
  CHECK(f.store.bindings().size() == 3);
  CHECK(f.audit_count(db::AuditKind::Registered) == 3);

  // An empty batch is no transaction.
  f.end_batch();
  CHECK(f.store.commit_attempts() == 1);
  CHECK(f.transport.sent.empty());
}

TEST_CASE("commit: a failing commit answers every registration of the batch with code 5, then recovers") {
  HubFixture f;
  f.register_spoke(kSpokeC, 600);  // already committed before the failure
  const db::Binding before = *f.cached(kSpokeC);
  f.loop.advance(10s);

  f.store.fail_next_commits(db::StoreErrorKind::DiskFull, 2);
  register_three(f);
  f.receive(kSpokeC, nhrp::build_registration_request(registration(kSpokeC, 4, 600)));  // a refresh
  f.end_batch();

  REQUIRE(f.transport.sent.size() == 4);
  for (const nhrp::Packet& reply : f.take_sent()) {
    CHECK(reply.type == nhrp::PacketType::RegistrationReply);
    REQUIRE(reply.cies.size() == 1);
    CHECK(reply.cies[0].code == CieCode::InsufficientResources);
    CHECK(reply.cies[0].holding_time == 0);
  }
  // Nothing of the batch applied: the cache is as it was, the refresh did not happen.
  CHECK(f.hub->cache().size() == 1);
  REQUIRE(f.cached(kSpokeC) != nullptr);
  CHECK(*f.cached(kSpokeC) == before);
  CHECK(f.store.bindings().size() == 1);
  CHECK(f.store.staged() == 0);
  CHECK(f.hub->stats().commit_failures == 1);
  CHECK(f.hub->stats().error_count("store: " + std::string(db::to_string(db::StoreErrorKind::DiskFull))) == 1);
  CHECK_FALSE(f.hub->store_healthy());

  // A second failing batch: answered the same, but the cause is logged once.
  f.register_spoke(kSpokeA, 600);
  CHECK(f.hub->stats().commit_failures == 2);
  CHECK(f.logs.count(log::Level::Error, "DiskFull") == 1);
  CHECK(f.logs.count(log::Level::Error, "code 5") == 1);

  // Recovery: the next batch commits as if nothing had happened.
  register_three(f);
  f.end_batch();
  for (const nhrp::Packet& reply : f.take_sent()) CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(f.hub->store_healthy());
  CHECK(f.hub->cache().size() == 4);
  CHECK(f.store.bindings().size() == 4);
  CHECK(f.hub->stats().commits == 2);
  CHECK(f.logs.count(log::Level::Info, "writable again") == 1);
}

TEST_CASE("commit: a refusal of the batch keeps its code, only successes become code 5") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  const Spoke imposter = station(IpAddress::v4(198, 51, 100, 9), kSpokeA.protocol, IpAddress::v4(198, 51, 100, 9));
  f.store.fail_next_commits(db::StoreErrorKind::Io);
  f.receive(imposter, nhrp::build_registration_request(registration(imposter, 1, 600)));
  f.receive(kSpokeB, nhrp::build_registration_request(registration(kSpokeB, 2, 600)));
  f.end_batch();
  const auto replies = f.take_sent();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].cies.at(0).code == CieCode::UniqueAddressRegistered);
  CHECK(replies[1].cies.at(0).code == CieCode::InsufficientResources);
  CHECK(f.audit_count(db::AuditKind::Refused) == 0);  // the audit went down with the batch
}

TEST_CASE("commit: after a restart committed bindings are served before any spoke re-registers") {
  HubFixture f;
  f.register_spoke(kSpokeA, 7200);
  f.register_spoke(kNatted, 7200);
  f.loop.advance(100s);
  // A binding from an earlier run whose holding time ran out while the hub was
  // down (written after the last sweep, so only load_unexpired can skip it).
  db::Binding stale;
  stale.key = {kSpokeB.protocol, 32, kSpokeB.nbma};
  stale.post_nat_nbma = kSpokeB.nbma;
  stale.holding_time_s = 60;
  stale.registered_at = f.loop.unix_seconds() - 120;
  stale.expires_at = f.loop.unix_seconds() - 60;
  stale.unique = true;
  REQUIRE(f.store.stage_upsert(stale).ok());
  REQUIRE(f.store.commit().ok());

  f.restart();
  CHECK(f.hub->cache().size() == 2);
  CHECK(f.cached(kSpokeB) == nullptr);
  CHECK(f.transport.sent.empty());

  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 1)));
  nhrp::Packet reply = f.take_one();
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::Success);
  CHECK(reply.cies[0].nbma == kSpokeA.nbma);
  CHECK(reply.cies[0].holding_time == 7100);

  // The post-NAT address survived the restart too.
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kNatted.protocol, 2)));
  reply = f.take_one();
  const nhrp::Extension* nat = reply.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].nbma == kNatted.outer);

  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeB.protocol, 3)));
  reply = f.take_one();
  CHECK(reply.cies.at(0).code == CieCode::NoBindingExists);
}

TEST_CASE("commit: start() fails when the store cannot be read") {
  HubFixture f(hub_config(), /*start_now=*/false);
  f.store.fail_next_load(db::StoreErrorKind::Corrupt);
  NextHopServer hub(f.config, f.transport, f.store, f.loop, f.loop);
  const auto started = hub.start();
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().find("Corrupt") != std::string::npos);
}

TEST_CASE("commit: the sweep expires bindings, removes them and audits Expired") {
  HubFixture f;
  f.register_spoke(kSpokeA, 30);
  f.register_spoke(kSpokeB, 600);
  f.loop.advance(29s);
  CHECK(f.hub->cache().size() == 2);
  CHECK(f.audit_count(db::AuditKind::Expired) == 0);

  f.loop.advance(f.config.sweep_interval + 1s);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.cached(kSpokeB) != nullptr);
  CHECK(f.store.bindings().size() == 1);
  REQUIRE(f.audit_count(db::AuditKind::Expired) == 1);
  const auto events = f.audit();
  CHECK(events.back().kind == db::AuditKind::Expired);
  CHECK(events.back().protocol == kSpokeA.protocol);
  CHECK(events.back().nbma == kSpokeA.nbma);
  CHECK(f.loop.armed_timers() >= 1);  // the sweep re-arms itself

  SUBCASE("a failing sweep changes nothing and the next one catches up") {
    f.loop.advance(600s - 29s - f.config.sweep_interval - 1s - 2s);
    f.store.fail_next_sweep(db::StoreErrorKind::Busy);
    f.loop.advance(f.config.sweep_interval);
    f.loop.advance(f.config.sweep_interval);
    CHECK(f.hub->cache().size() == 0);
    CHECK(f.audit_count(db::AuditKind::Expired) == 2);
  }
}

TEST_CASE("commit: clear_registration removes every binding of the address and commits") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600, false);
  const Spoke second = station(IpAddress::v4(198, 51, 100, 9), kSpokeA.protocol, IpAddress::v4(198, 51, 100, 9));
  f.register_spoke(second, 600, false);
  f.register_spoke(kSpokeB, 600);
  const std::size_t commits = f.store.commit_attempts();

  const auto cleared = f.hub->clear_registration(kSpokeA.protocol);
  REQUIRE(cleared.ok());
  CHECK(*cleared == 2);
  CHECK(f.store.commit_attempts() == commits + 1);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.cached(kSpokeB) != nullptr);
  CHECK(f.store.bindings().size() == 1);
  CHECK(f.audit_count(db::AuditKind::Purged) == 2);
  CHECK(f.audit().back().reason.find("operator") != std::string::npos);

  const auto none = f.hub->clear_registration(ip("10.9.9.9"));
  REQUIRE(none.ok());
  CHECK(*none == 0);
  CHECK(f.store.commit_attempts() == commits + 1);

  SUBCASE("a failing commit leaves the cache and the store as they were") {
    f.store.fail_next_commits(db::StoreErrorKind::ReadOnly);
    CHECK_FALSE(f.hub->clear_registration(kSpokeB.protocol).ok());
    CHECK(f.cached(kSpokeB) != nullptr);
    CHECK(f.store.bindings().size() == 1);
    CHECK(f.store.staged() == 0);
  }
}

}  // namespace
}  // namespace advpnd::hub::testing
