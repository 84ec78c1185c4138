// The RegistrationStore contract (db/registration_store.h), written once and
// run against both implementations (hub issue: "Fake store obeys the same
// contract: write the contract tests once, run them against both").
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "db/fake_registration_store.h"
#include "db/sqlite.h"
#include "db/sqlite_registration_store.h"
#include "tests/db/db_test_support.h"

namespace advpnd::db::test {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14, a fixed wall-clock time

// Each fixture gives a fresh store, and a way to make the next commit fail in
// the middle of its batch (after some of its operations were applied).
class SqliteFixture {
 public:
  SqliteFixture() {
    auto opened = SqliteRegistrationStore::open(dir_.file("hub.db"));
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().to_string()));
    store_ = std::move(opened).value();
  }
  RegistrationStore& store() { return *store_; }

  // A trigger, added by a second connection, aborts the first audit insert:
  // a real SQLite failure half-way through the batch.
  void break_commits() {
    exec("CREATE TRIGGER poison BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
  }
  void repair_commits() { exec("DROP TRIGGER poison"); }

 private:
  void exec(const std::string& sql) {
    auto other = Connection::open(dir_.file("hub.db"), Connection::Mode::ReadWrite);
    REQUIRE(other.ok());
    auto ran = other->exec(sql);
    REQUIRE_MESSAGE(ran.ok(), (ran.ok() ? "" : ran.error().to_string()));
  }

  TempDir dir_;
  std::unique_ptr<SqliteRegistrationStore> store_;
};

class FakeFixture {
 public:
  RegistrationStore& store() { return store_; }
  void break_commits() { store_.fail_next_commits(StoreErrorKind::Other, 1000); }
  void repair_commits() { store_.fail_next_commits(StoreErrorKind::Other, 0); }

 private:
  FakeRegistrationStore store_;
};

std::vector<Binding> load(RegistrationStore& store, std::int64_t now = kNow) {
  auto rows = store.load_unexpired(now);
  REQUIRE_MESSAGE(rows.ok(), (rows.ok() ? "" : rows.error().to_string()));
  return sorted(std::move(rows).value());
}

std::vector<AuditEvent> audit(RegistrationStore& store, AuditQuery query = {}) {
  auto events = store.audit_events(query);
  REQUIRE_MESSAGE(events.ok(), (events.ok() ? "" : events.error().to_string()));
  return std::move(events).value();
}

void commit_ok(RegistrationStore& store) {
  auto committed = store.commit();
  REQUIRE_MESSAGE(committed.ok(), (committed.ok() ? "" : committed.error().to_string()));
  CHECK(store.staged() == 0);
}

}  // namespace

TEST_CASE_TEMPLATE("contract: an empty store loads nothing and an empty commit succeeds", F, SqliteFixture,
                   FakeFixture) {
  F f;
  CHECK(load(f.store()).empty());
  CHECK(f.store().staged() == 0);
  commit_ok(f.store());
  CHECK(audit(f.store()).empty());
}

TEST_CASE_TEMPLATE("contract: upsert stores every field, visible only after commit", F, SqliteFixture, FakeFixture) {
  F f;
  Binding v4 = sample_binding(1, kNow + 100);
  Binding v6 = sample_binding(2, kNow + 200, /*v6=*/true);
  v6.post_nat_nbma = IpAddress{};  // not known
  v6.identity = "CN=spoke-ü,O=example";
  v6.unique = true;
  v6.request_id = 0xffffffffU;
  v6.holding_time_s = 65535;
  v6.mtu = 0;
  REQUIRE(f.store().stage_upsert(v4).ok());
  REQUIRE(f.store().stage_upsert(v6).ok());
  CHECK(f.store().staged() == 2);
  CHECK(load(f.store()).empty());  // staged is not committed
  commit_ok(f.store());
  CHECK(load(f.store()) == sorted({v4, v6}));
}

TEST_CASE_TEMPLATE("contract: upsert of the same key replaces the row (refresh)", F, SqliteFixture, FakeFixture) {
  F f;
  Binding first = sample_binding(7, kNow + 100);
  REQUIRE(f.store().stage_upsert(first).ok());
  commit_ok(f.store());

  Binding refreshed = first;
  refreshed.post_nat_nbma = IpAddress::v4(203, 0, 113, 250);  // NAT mapping moved
  refreshed.expires_at = kNow + 7200;
  refreshed.request_id += 1;
  refreshed.identity = "renewed";
  refreshed.unique = !first.unique;
  REQUIRE(f.store().stage_upsert(refreshed).ok());
  commit_ok(f.store());
  CHECK(load(f.store()) == std::vector<Binding>{refreshed});
}

TEST_CASE_TEMPLATE("contract: the key is (protocol, prefix, NBMA)", F, SqliteFixture, FakeFixture) {
  F f;
  const Binding a = sample_binding(1, kNow + 100);
  Binding other_nbma = a;  // non-unique: a second NBMA for the same address
  other_nbma.key.nbma = IpAddress::v4(198, 51, 100, 9);
  Binding other_prefix = a;  // the same address as a /24 network
  other_prefix.key.prefix_len = 24;
  Binding other_post_nat = a;  // same key, new outer address: replaces a
  other_post_nat.post_nat_nbma = IpAddress::v4(203, 0, 113, 77);
  for (const Binding& b : {a, other_nbma, other_prefix, other_post_nat}) REQUIRE(f.store().stage_upsert(b).ok());
  commit_ok(f.store());
  CHECK(load(f.store()) == sorted({other_post_nat, other_nbma, other_prefix}));

  // FRR-style overwrite is a remove + upsert in one batch.
  REQUIRE(f.store().stage_remove(other_nbma.key).ok());
  commit_ok(f.store());
  CHECK(load(f.store()) == sorted({other_post_nat, other_prefix}));
}

TEST_CASE_TEMPLATE("contract: staged operations apply in order", F, SqliteFixture, FakeFixture) {
  F f;
  const Binding a = sample_binding(1, kNow + 100);
  const Binding b = sample_binding(2, kNow + 100);
  const Binding c = sample_binding(3, kNow + 100);
  REQUIRE(f.store().stage_upsert(a).ok());
  REQUIRE(f.store().stage_remove(a.key).ok());  // upsert then remove: gone
  REQUIRE(f.store().stage_remove(b.key).ok());  // remove of nothing: fine
  REQUIRE(f.store().stage_upsert(b).ok());      // remove then upsert: present
  REQUIRE(f.store().stage_upsert(c).ok());
  commit_ok(f.store());
  CHECK(load(f.store()) == sorted({b, c}));
}

TEST_CASE_TEMPLATE("contract: invalid arguments are refused at stage time", F, SqliteFixture, FakeFixture) {
  F f;
  Binding no_protocol = sample_binding(1, kNow + 100);
  no_protocol.key.protocol = IpAddress{};
  Binding no_nbma = sample_binding(2, kNow + 100);
  no_nbma.key.nbma = IpAddress{};
  Binding long_prefix = sample_binding(3, kNow + 100);
  long_prefix.key.prefix_len = 33;
  Binding long_identity = sample_binding(4, kNow + 100);
  long_identity.identity.assign(kMaxIdentityLength + 1, 'x');
  for (const Binding& b : {no_protocol, no_nbma, long_prefix, long_identity}) {
    auto staged = f.store().stage_upsert(b);
    REQUIRE_FALSE(staged.ok());
    CHECK(staged.error().kind == StoreErrorKind::Invalid);
  }
  CHECK_FALSE(f.store().stage_remove(long_prefix.key).ok());
  AuditEvent long_reason = sample_event(kNow, AuditKind::Refused, 1);
  long_reason.reason.assign(kMaxReasonLength + 1, 'r');
  CHECK(f.store().stage_audit(long_reason).error().kind == StoreErrorKind::Invalid);
  CHECK(f.store().staged() == 0);

  // A good binding staged beside the bad ones still commits.
  REQUIRE(f.store().stage_upsert(sample_binding(5, kNow + 100)).ok());
  commit_ok(f.store());
  CHECK(load(f.store()).size() == 1);
}

TEST_CASE_TEMPLATE("contract: load_unexpired returns exactly the bindings with expires_at > now", F, SqliteFixture,
                   FakeFixture) {
  F f;
  std::vector<Binding> live;
  for (std::uint32_t i = 0; i < 50; ++i) {
    // Expiries from now-25 to now+24: 25 expired (<= now), 24 live, and one at exactly now.
    const Binding b = sample_binding(i, kNow - 25 + i, i % 3 == 0);
    REQUIRE(f.store().stage_upsert(b).ok());
    if (b.expires_at > kNow) live.push_back(b);
  }
  commit_ok(f.store());
  CHECK(live.size() == 24);
  CHECK(load(f.store(), kNow) == sorted(live));
  CHECK(load(f.store(), kNow + 1000).empty());
  CHECK(load(f.store(), kNow - 1000).size() == 50);
}

TEST_CASE_TEMPLATE("contract: delete_expired removes and audits exactly the expired bindings", F, SqliteFixture,
                   FakeFixture) {
  F f;
  std::vector<Binding> expired;
  std::vector<Binding> live;
  for (std::uint32_t i = 0; i < 20; ++i) {
    const Binding b = sample_binding(i, kNow - 10 + i);
    REQUIRE(f.store().stage_upsert(b).ok());
    (b.expires_at <= kNow ? expired : live).push_back(b);
  }
  commit_ok(f.store());
  // A staged operation is not touched by the sweep.
  const Binding pending = sample_binding(100, kNow - 5);
  REQUIRE(f.store().stage_upsert(pending).ok());

  auto deleted = f.store().delete_expired(kNow);
  REQUIRE_MESSAGE(deleted.ok(), (deleted.ok() ? "" : deleted.error().to_string()));
  CHECK(sorted(deleted.value()) == sorted(expired));
  CHECK(load(f.store(), kNow - 1000) == sorted(live));
  CHECK(f.store().staged() == 1);

  const auto events = audit(f.store());
  REQUIRE(events.size() == expired.size());
  for (const AuditEvent& e : events) {
    CHECK(e.kind == AuditKind::Expired);
    CHECK(e.at == kNow);
    CHECK(e.prefix_len == 32);
    CHECK_FALSE(e.nbma.empty());
  }
  auto again = f.store().delete_expired(kNow);
  REQUIRE(again.ok());
  CHECK(again->empty());
}

TEST_CASE_TEMPLATE("contract: audit events are written, queried and pruned", F, SqliteFixture, FakeFixture) {
  F f;
  const AuditKind kinds[] = {AuditKind::Registered, AuditKind::Refreshed, AuditKind::Replaced,
                             AuditKind::Refused,    AuditKind::Expired,   AuditKind::Purged};
  std::vector<AuditEvent> written;
  for (std::uint32_t i = 0; i < 12; ++i) {
    AuditEvent e = sample_event(kNow + i / 2, kinds[i % 6], i);  // two events per second
    if (i == 3) e.protocol = IpAddress{};                        // a refusal before the CIE was read
    written.push_back(e);
    REQUIRE(f.store().stage_audit(e).ok());
  }
  commit_ok(f.store());
  CHECK(audit(f.store()) == written);  // oldest first, ties in insertion order

  AuditQuery newest;
  newest.newest_first = true;
  newest.limit = 3;
  CHECK(audit(f.store(), newest) == std::vector<AuditEvent>{written[11], written[10], written[9]});
  AuditQuery since;
  since.since = kNow + 4;
  CHECK(audit(f.store(), since) == std::vector<AuditEvent>(written.begin() + 8, written.end()));

  auto pruned = f.store().prune_audit(kNow + 3);  // drops at < now+3: the first six
  REQUIRE(pruned.ok());
  CHECK(pruned.value() == 6);
  CHECK(audit(f.store()) == std::vector<AuditEvent>(written.begin() + 6, written.end()));
  CHECK(f.store().prune_audit(kNow + 3).value() == 0);
}

TEST_CASE_TEMPLATE("contract: a failed commit applies nothing of its batch, drops it, and recovers", F, SqliteFixture,
                   FakeFixture) {
  F f;
  const Binding kept = sample_binding(1, kNow + 100);
  const Binding doomed = sample_binding(2, kNow + 100);
  REQUIRE(f.store().stage_upsert(kept).ok());
  REQUIRE(f.store().stage_upsert(doomed).ok());
  commit_ok(f.store());

  f.break_commits();
  Binding changed = kept;
  changed.expires_at = kNow + 9999;
  REQUIRE(f.store().stage_upsert(changed).ok());     // applied first...
  REQUIRE(f.store().stage_remove(doomed.key).ok());  // ...and this...
  REQUIRE(f.store().stage_upsert(sample_binding(3, kNow + 100)).ok());
  REQUIRE(f.store().stage_audit(sample_event(kNow, AuditKind::Registered, 3)).ok());  // ...fails here
  auto failed = f.store().commit();
  REQUIRE_FALSE(failed.ok());
  CHECK_FALSE(failed.error().message.empty());
  CHECK(f.store().staged() == 0);  // the batch is dropped
  CHECK(load(f.store()) == sorted({kept, doomed}));
  CHECK(audit(f.store()).empty());

  f.repair_commits();
  const Binding next = sample_binding(4, kNow + 100);
  REQUIRE(f.store().stage_upsert(next).ok());
  REQUIRE(f.store().stage_audit(sample_event(kNow, AuditKind::Registered, 4)).ok());
  commit_ok(f.store());  // no reopen: the same store recovers by itself
  CHECK(load(f.store()) == sorted({kept, doomed, next}));
  CHECK(audit(f.store()).size() == 1);
}

TEST_CASE_TEMPLATE("contract: resolvers are stored, replaced, and go with their binding or their time", F,
                   SqliteFixture, FakeFixture) {
  F f;
  const Binding kept = sample_binding(1, kNow + 600);
  const Binding removed = sample_binding(2, kNow + 600);
  const Binding expiring = sample_binding(3, kNow + 10);
  for (const Binding& b : {kept, removed, expiring}) REQUIRE(f.store().stage_upsert(b).ok());
  const IpAddress requester = IpAddress::v4(198, 51, 100, 7);
  const IpAddress other = IpAddress::v4(198, 51, 100, 8);
  ResolverRecord r1{kept.key, requester, IpAddress::v4(10, 0, 0, 7), kNow + 100};
  REQUIRE(f.store().stage_resolver(r1).ok());
  REQUIRE(f.store().stage_resolver({kept.key, other, IpAddress::v4(10, 0, 0, 8), kNow + 5}).ok());
  REQUIRE(f.store().stage_resolver({removed.key, requester, IpAddress::v4(10, 0, 0, 7), kNow + 100}).ok());
  REQUIRE(f.store().stage_resolver({expiring.key, requester, IpAddress::v4(10, 0, 0, 7), kNow + 100}).ok());
  CHECK_FALSE(f.store().stage_resolver({kept.key, IpAddress{}, IpAddress{}, kNow}).ok());  // no NBMA: refused
  commit_ok(f.store());
  auto loaded = f.store().load_resolvers(kNow);
  REQUIRE(loaded.ok());
  CHECK(loaded->size() == 4);

  r1.until = kNow + 300;  // the same binding and requester: replaced
  REQUIRE(f.store().stage_resolver(r1).ok());
  REQUIRE(f.store().stage_remove(removed.key).ok());  // its resolvers go with it
  commit_ok(f.store());
  REQUIRE(f.store().delete_expired(kNow + 20).ok());  // `expiring` and its resolver; `other` ran out
  loaded = f.store().load_resolvers(kNow + 20);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->size() == 1);
  CHECK(loaded->front() == r1);
}

}  // namespace advpnd::db::test
