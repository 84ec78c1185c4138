// SqliteRegistrationStore beyond the shared contract: the file itself — schema
// creation, WAL, reopen, migrations from version 0, refusal of newer or
// foreign files (hub issue: "versioned schema with migrations").
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "db/schema.h"
#include "db/sqlite.h"
#include "db/sqlite_registration_store.h"
#include "tests/db/db_test_support.h"

namespace advpnd::db::test {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

std::unique_ptr<SqliteRegistrationStore> open_ok(const std::string& path, const SqliteStoreOptions& options = {}) {
  auto opened = SqliteRegistrationStore::open(path, options);
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().to_string()));
  return std::move(opened).value();
}

Connection raw(const std::string& path) {
  auto connection = Connection::open(path, Connection::Mode::ReadWriteCreate);
  REQUIRE(connection.ok());
  return std::move(connection).value();
}

std::int64_t query_int(Connection& connection, const std::string& sql) {
  auto value = connection.query_int(sql);
  REQUIRE_MESSAGE(value.ok(), (value.ok() ? "" : value.error().to_string()));
  return value.value();
}

}  // namespace

TEST_CASE("sqlite: a new file gets the schema, WAL and our application id") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto store = open_ok(path);
  CHECK(std::filesystem::exists(path));
  Connection c = raw(path);
  CHECK(c.query_text("PRAGMA journal_mode").value() == "wal");  // persistent in the file
  CHECK(query_int(c, "PRAGMA user_version") == latest_schema_version());
  CHECK(query_int(c, "PRAGMA application_id") == kApplicationId);
  CHECK(query_int(c,
                  "SELECT count(*) FROM sqlite_schema WHERE name IN "
                  "('binding', 'audit', 'binding_expires_at', 'audit_at')") == 4);
  CHECK(store->integrity_check().ok());
}

TEST_CASE("sqlite: bindings and audit survive closing and reopening") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  const Binding a = sample_binding(1, kNow + 100);
  const Binding b = sample_binding(2, kNow + 100, /*v6=*/true);
  {
    auto store = open_ok(path, SqliteStoreOptions{Synchronous::Normal, std::chrono::milliseconds(50)});
    REQUIRE(store->stage_upsert(a).ok());
    REQUIRE(store->stage_upsert(b).ok());
    REQUIRE(store->stage_audit(sample_event(kNow, AuditKind::Registered, 1)).ok());
    REQUIRE(store->commit().ok());
  }
  auto store = open_ok(path);
  CHECK(sorted(store->load_unexpired(kNow).value()) == sorted({a, b}));
  CHECK(store->audit_events({}).value().size() == 1);
}

TEST_CASE("sqlite: an empty (version 0) file is migrated") {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  { std::ofstream touch(path); }  // zero bytes: a valid SQLite file at version 0
  REQUIRE(std::filesystem::file_size(path) == 0);
  auto store = open_ok(path);
  Connection c = raw(path);
  CHECK(query_int(c, "PRAGMA user_version") == latest_schema_version());
  REQUIRE(store->stage_upsert(sample_binding(1, kNow + 1)).ok());
  CHECK(store->commit().ok());
}

TEST_CASE("sqlite: a file with a newer schema version is refused and left alone") {
  TempDir dir;
  const std::string path = dir.file("future.db");
  {
    Connection c = raw(path);
    REQUIRE(c.exec("PRAGMA application_id = " + std::to_string(kApplicationId) +
                   "; CREATE TABLE from_the_future (x); PRAGMA user_version = 99")
                .ok());
  }
  auto opened = SqliteRegistrationStore::open(path);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == StoreErrorKind::SchemaTooNew);
  const std::string& message = opened.error().message;
  CHECK(message.find("99") != std::string::npos);
  CHECK(message.find("newer than this advpnd knows (" + std::to_string(latest_schema_version()) + ")") !=
        std::string::npos);
  CHECK(message.find(path) != std::string::npos);
  Connection c = raw(path);
  CHECK(query_int(c, "PRAGMA user_version") == 99);
  CHECK(query_int(c, "SELECT count(*) FROM sqlite_schema WHERE name = 'binding'") == 0);
}

TEST_CASE("sqlite: a file that is not ours is refused") {
  TempDir dir;
  SUBCASE("another application's database") {
    const std::string path = dir.file("other.db");
    { REQUIRE(raw(path).exec("CREATE TABLE customers (id INTEGER)").ok()); }
    auto opened = SqliteRegistrationStore::open(path);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == StoreErrorKind::Other);
    CHECK(opened.error().message.find("not an advpnd database") != std::string::npos);
  }
  SUBCASE("another application id") {
    const std::string path = dir.file("other-id.db");
    { REQUIRE(raw(path).exec("PRAGMA application_id = 1234").ok()); }
    auto opened = SqliteRegistrationStore::open(path);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().message.find("application_id 1234") != std::string::npos);
  }
  SUBCASE("not SQLite at all") {
    const std::string path = dir.file("garbage.db");
    {
      std::ofstream out(path, std::ios::binary);
      for (int i = 0; i < 4096; ++i) out << "this is not a database ";
    }
    auto opened = SqliteRegistrationStore::open(path);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().kind == StoreErrorKind::Corrupt);
  }
}

TEST_CASE("schema: migrations run in order, one transaction each, and a failing step changes nothing") {
  TempDir dir;
  const std::string path = dir.file("steps.db");
  const Migration steps[] = {
      {1, "one", "CREATE TABLE t1 (x)"},
      {2, "two", "CREATE TABLE t2 (y); INSERT INTO t2 VALUES (2)"},
      {3, "broken", "CREATE TABLE t3 (z); INSERT INTO no_such_table VALUES (3)"},
  };
  Connection c = raw(path);

  REQUIRE(migrate(c, std::span(steps, 1)).ok());
  CHECK(query_int(c, "PRAGMA user_version") == 1);
  REQUIRE(migrate(c, std::span(steps, 1)).ok());  // already there: nothing to do
  REQUIRE(migrate(c, std::span(steps, 2)).ok());  // 1 -> 2
  CHECK(query_int(c, "PRAGMA user_version") == 2);
  CHECK(query_int(c, "SELECT y FROM t2") == 2);

  auto broken = migrate(c, std::span(steps, 3));
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message.find("migration to schema version 3 (broken)") != std::string::npos);
  CHECK(query_int(c, "PRAGMA user_version") == 2);
  CHECK(query_int(c, "SELECT count(*) FROM sqlite_schema WHERE name = 't3'") == 0);
  CHECK_FALSE(c.in_transaction());

  // Older code (knows only step 1) refuses the version-2 file.
  auto older = migrate(c, std::span(steps, 1));
  REQUIRE_FALSE(older.ok());
  CHECK(older.error().kind == StoreErrorKind::SchemaTooNew);

  const Migration misnumbered[] = {{2, "two", "SELECT 1"}};
  CHECK_FALSE(migrate(c, misnumbered).ok());
}

TEST_CASE("sqlite: two stores on one file see each other's commits") {
  // advpnctl reads the file while the hub writes (WAL: readers do not block).
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto writer = open_ok(path);
  auto reader = open_ok(path);
  REQUIRE(writer->stage_upsert(sample_binding(1, kNow + 100)).ok());
  REQUIRE(writer->commit().ok());
  CHECK(reader->load_unexpired(kNow).value().size() == 1);
}

TEST_CASE("sqlite: a version-1 file keeps its bindings and audit through the table rebuild of version 3") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  {
    // What an advpnd of schema version 1 wrote: its tables and two rows.
    Connection c = raw(path);
    REQUIRE(migrate(c, schema_migrations().first(1)).ok());
    REQUIRE(c.exec("INSERT INTO binding VALUES (x'0a000002', 32, x'c6336402', x'', 600, " + std::to_string(kNow + 600) +
                   ", " + std::to_string(kNow) + ", 1, 1400, 'spoke2', 7)")
                .ok());
    REQUIRE(c.exec("INSERT INTO audit (id, at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len, reason) "
                   "VALUES (41, " +
                   std::to_string(kNow) + ", 'registered', x'c6336402', x'', x'0a000002', 32, 'first')")
                .ok());
    CHECK(query_int(c, "PRAGMA user_version") == 1);
  }
  auto store = open_ok(path);
  auto loaded = store->load_unexpired(kNow);
  REQUIRE(loaded.ok());
  REQUIRE(loaded.value().size() == 1);
  const Binding& b = loaded.value().front();
  CHECK(b.key.protocol == *IpAddress::parse("10.0.0.2"));
  CHECK(b.key.nbma == *IpAddress::parse("198.51.100.2"));
  CHECK(b.mtu == 1400);
  CHECK(b.identity == "spoke2");
  CHECK(b.request_id == 7);
  auto audit = store->audit_events({});
  REQUIRE(audit.ok());
  REQUIRE(audit.value().size() == 1);
  CHECK(audit.value().front().reason == "first");
  CHECK(store->integrity_check().ok());

  Connection c = raw(path);
  CHECK(query_int(c, "PRAGMA user_version") == latest_schema_version());
  CHECK(query_int(c, "SELECT id FROM audit") == 41);  // insertion order kept
  CHECK(query_int(c, "SELECT count(*) FROM sqlite_schema WHERE name IN ('binding_expires_at', 'audit_at')") == 2);
  CHECK(query_int(c, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%IN (%'") == 0);
  // The checks still hold: a 5-byte address is refused.
  CHECK_FALSE(
      c.exec("INSERT INTO binding VALUES (x'0a00000200', 32, x'c6336402', x'', 600, 1, 1, 1, 1400, '', 7)").ok());
  CHECK_FALSE(c.exec("INSERT INTO audit (at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len) "
                     "VALUES (1, 'registered', x'01', x'', x'', 0)")
                  .ok());
}

}  // namespace advpnd::db::test
