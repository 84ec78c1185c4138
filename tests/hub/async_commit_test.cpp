// The event loop never waits on the disk (issue #10 item 7): a batch is
// handed to the store and the hub goes on; its replies leave only when the
// store reports the commit, in hand-over order. FakeRegistrationStore holds
// the reports until the test releases them (what the SQLite store's thread
// does between a hand-over and the loop learning the result).
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;

}  // namespace

TEST_CASE("async commit: no reply and no cache change before the commit completes") {
  HubFixture f;
  f.store.hold_commits(true);
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->batches_in_flight() == 1);
  CHECK(f.hub->cache().size() == 0);

  // Resolutions read only the committed cache: not yet.
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 2)));
  CHECK(f.take_one().cies.at(0).code == CieCode::NoBindingExists);

  REQUIRE(f.store.release_commits() == 1);
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.type == nhrp::PacketType::RegistrationReply);
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.hub->batches_in_flight() == 0);
  CHECK(f.hub->stats().commits == 1);
}

TEST_CASE("async commit: a failed commit answers code 5 once it is reported, and applies nothing") {
  HubFixture f;
  f.store.hold_commits(true);
  f.store.fail_next_commits(db::StoreErrorKind::DiskFull);
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
  f.receive(kSpokeB, nhrp::build_registration_request(registration(kSpokeB, 2, 600)));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  REQUIRE(f.store.release_commits() == 1);
  const auto replies = f.take_sent();
  REQUIRE(replies.size() == 2);
  for (const nhrp::Packet& reply : replies) {
    CHECK(reply.cies.at(0).code == CieCode::InsufficientResources);
    CHECK(reply.cies.at(0).holding_time == 0);
  }
  CHECK(f.hub->cache().size() == 0);
  CHECK(f.store.bindings().empty());
  CHECK(f.hub->stats().commit_failures == 1);
  CHECK_FALSE(f.hub->store_healthy());
}

TEST_CASE("async commit: a second batch sees the first one in flight, and both are answered in order") {
  NhsConfig config = hub_config();
  config.max_registrations = 2;
  HubFixture f(config);
  f.store.hold_commits(true);
  // Batch 1: A registers unique.
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
  f.end_batch();
  // Batch 2, while batch 1 is in flight: A refreshes, another NBMA claims
  // A's address (refused: the unique binding of batch 1 holds it), B
  // registers (the second binding), C finds no room left.
  const Spoke thief = station(IpAddress::v4(198, 51, 100, 66), kSpokeA.protocol, IpAddress::v4(198, 51, 100, 66));
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 2, 600)));
  f.receive(thief, nhrp::build_registration_request(registration(thief, 3, 600)));
  f.receive(kSpokeB, nhrp::build_registration_request(registration(kSpokeB, 4, 600)));
  f.receive(kSpokeC, nhrp::build_registration_request(registration(kSpokeC, 5, 600)));
  f.end_batch();
  CHECK(f.hub->batches_in_flight() == 2);
  CHECK(f.transport.sent.empty());

  REQUIRE(f.store.release_commits(1) == 1);
  auto replies = f.take_sent();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].request_id == 1);
  CHECK(f.hub->cache().size() == 1);

  REQUIRE(f.store.release_commits(1) == 1);
  replies = f.take_sent();
  REQUIRE(replies.size() == 4);
  CHECK(replies[0].request_id == 2);
  CHECK(replies[0].cies.at(0).code == CieCode::Success);
  CHECK(replies[1].request_id == 3);
  CHECK(replies[1].cies.at(0).code == CieCode::UniqueAddressRegistered);
  CHECK(replies[2].request_id == 4);
  CHECK(replies[2].cies.at(0).code == CieCode::Success);
  CHECK(replies[3].request_id == 5);
  CHECK(replies[3].cies.at(0).code == CieCode::InsufficientResources);
  CHECK(f.hub->cache().size() == 2);
  CHECK(f.store.bindings().size() == 2);
  CHECK(f.audit_count(db::AuditKind::Registered) == 2);  // A's refresh in batch 2 is one, not a new registration
}

TEST_CASE("async commit: a server destroyed with batches in flight ignores their late reports") {
  HubFixture f;
  f.store.hold_commits(true);
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
  f.end_batch();
  f.hub.reset();
  CHECK(f.store.release_commits() == 1);  // must not touch the destroyed server
  CHECK(f.transport.sent.empty());
}

TEST_CASE("async sweep: the loop does not wait for it; the cache follows when the store reports, in turn") {
  using namespace std::chrono_literals;
  HubFixture f;
  REQUIRE(f.register_spoke(kSpokeA, 2).cies.at(0).code == CieCode::Success);
  f.take_sent();
  f.store.hold_commits(true);
  // B's registration is in flight when the sweep is handed over behind it.
  f.receive(kSpokeB, nhrp::build_registration_request(registration(kSpokeB, 7, 600)));
  f.end_batch();
  f.loop.advance(f.config.sweep_interval + 1s);
  CHECK(f.store.bindings().count(f.cached(kSpokeA)->key) == 0);  // the store has deleted A...
  CHECK(f.cached(kSpokeA) != nullptr);                           // ...the hub learns it in turn
  CHECK(f.hub->stats().sweeps == 0);
  // The next tick finds the sweep still out and does not queue another.
  f.loop.advance(f.config.sweep_interval);
  CHECK(f.store.held_commits() == 2);

  REQUIRE(f.store.release_commits(1) == 1);  // B's batch first
  CHECK(f.take_one().request_id == 7);
  CHECK(f.cached(kSpokeA) != nullptr);
  REQUIRE(f.store.release_commits(1) == 1);  // then the sweep
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.cached(kSpokeB) != nullptr);
  CHECK(f.hub->stats().sweeps == 1);
  CHECK(f.audit_count(db::AuditKind::Expired) == 1);
  // And the sweeps go on once it came back.
  f.loop.advance(f.config.sweep_interval);
  CHECK(f.store.release_commits() == 1);
  CHECK(f.hub->stats().sweeps == 2);
}

TEST_CASE("async sweep: a server destroyed with a sweep out ignores its late report") {
  using namespace std::chrono_literals;
  HubFixture f;
  f.store.hold_commits(true);
  f.loop.advance(f.config.sweep_interval + 1s);
  REQUIRE(f.store.held_commits() == 1);
  f.hub.reset();
  CHECK(f.store.release_commits() == 1);
}

TEST_CASE("async sweep: audit rows older than the retention go with the sweep; newer ones and the binding stay") {
  using namespace std::chrono_literals;
  NhsConfig config = hub_config();
  config.audit_retention_s = 20;
  HubFixture f(config);
  REQUIRE(f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
  f.loop.advance(15s);
  REQUIRE(f.register_spoke(kSpokeB).cies.at(0).code == CieCode::Success);
  REQUIRE(f.audit_count(db::AuditKind::Registered) == 2);
  // 21 s after A's row: the next sweep prunes it; B's (6 s old) stays.
  f.loop.advance(6s + f.config.sweep_interval);
  CHECK(f.audit_count(db::AuditKind::Registered) == 1);
  CHECK(f.audit().front().protocol == kSpokeB.protocol);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.hub->stats().sweeps >= 1);
}

}  // namespace advpnd::hub::testing
