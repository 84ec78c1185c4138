// Real failures of the SQLite store (hub issue: "Disk full: a real small
// tmpfs ...", "read-only ... → ReadOnly/Io kind", "SQLITE_BUSY from a second
// connection holding a write lock → Busy"). Each one: the commit fails with the
// right kind, nothing of the batch is applied, and the same store commits
// again once the cause is gone, without reopening.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

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

void stage_range(RegistrationStore& store, std::uint32_t first, std::uint32_t count) {
  for (std::uint32_t i = first; i < first + count; ++i) REQUIRE(store.stage_upsert(sample_binding(i, kNow + 600)).ok());
}

std::size_t live_count(RegistrationStore& store) {
  auto rows = store.load_unexpired(kNow);
  REQUIRE_MESSAGE(rows.ok(), (rows.ok() ? "" : rows.error().to_string()));
  return rows->size();
}

}  // namespace

TEST_CASE("failure: a second connection holding the write lock makes commit fail with Busy") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto store = open_ok(path, SqliteStoreOptions{Synchronous::Full, std::chrono::milliseconds(20)});
  stage_range(*store, 0, 10);
  REQUIRE(store->commit().ok());

  auto other = Connection::open(path, Connection::Mode::ReadWrite);
  REQUIRE(other.ok());
  REQUIRE(other->exec("BEGIN IMMEDIATE; DELETE FROM audit").ok());

  stage_range(*store, 10, 10);
  const auto started = std::chrono::steady_clock::now();
  auto failed = store->commit();
  const auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == StoreErrorKind::Busy);
  CHECK(waited < std::chrono::seconds(2));  // busy_timeout, not a stall of the event loop
  CHECK(store->staged() == 0);
  CHECK(live_count(*store) == 10);  // WAL: reads go on while another connection writes
  auto sweep = store->delete_expired(kNow);
  REQUIRE_FALSE(sweep.ok());
  CHECK(sweep.error().kind == StoreErrorKind::Busy);

  REQUIRE(other->exec("ROLLBACK").ok());
  stage_range(*store, 10, 10);
  auto committed = store->commit();
  REQUIRE_MESSAGE(committed.ok(), (committed.ok() ? "" : committed.error().to_string()));
  CHECK(live_count(*store) == 20);
}

TEST_CASE("failure: opening a file the process cannot write fails with ReadOnly") {
  // The hub dropped privileges, or the file belongs to someone else: SQLite
  // would silently open it read-only; the store refuses at open instead.
  REQUIRE_MESSAGE(running_as_root(), "needs root (CI runs as root): switching to another user needs root");
  TempDir dir;
  const std::string path = dir.file("hub.db");
  {
    auto store = open_ok(path);
    stage_range(*store, 0, 5);
    REQUIRE(store->commit().ok());
  }
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                               std::filesystem::perms::group_exec |
                                               std::filesystem::perms::others_read |
                                               std::filesystem::perms::others_exec);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // nobody: can read the root-owned 0644 file but not write it.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
    auto opened = SqliteRegistrationStore::open(path);
    _exit(opened.ok() ? 3 : 10 + static_cast<int>(opened.error().kind));
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 10 + static_cast<int>(StoreErrorKind::ReadOnly));
}

TEST_CASE("failure: opening on a read-only file system fails with ReadOnly or Io") {
  REQUIRE_MESSAGE(running_as_root(), "needs root (CI runs as root): mounting a tmpfs needs root");
  TmpfsMount fs(std::size_t{1024} * 1024);
  REQUIRE_MESSAGE(fs.mounted(), fs.error());
  const std::string path = fs.file("hub.db");
  {
    auto store = open_ok(path);
    stage_range(*store, 0, 5);
    REQUIRE(store->commit().ok());
  }
  REQUIRE_MESSAGE(fs.remount(/*read_only=*/true), fs.error());
  auto opened = SqliteRegistrationStore::open(path);
  REQUIRE_FALSE(opened.ok());
  const StoreErrorKind kind = opened.error().kind;
  MESSAGE("read-only open: " << opened.error().to_string());
  CHECK((kind == StoreErrorKind::ReadOnly || kind == StoreErrorKind::Io));
  CHECK(opened.error().message.find(path) != std::string::npos);

  REQUIRE_MESSAGE(fs.remount(/*read_only=*/false), fs.error());
  auto store = open_ok(path);
  CHECK(live_count(*store) == 5);
}

TEST_CASE("failure: a full disk makes commit fail with DiskFull, nothing partial, and heals when space returns") {
  REQUIRE_MESSAGE(running_as_root(), "needs root (CI runs as root): mounting a tmpfs needs root");
  TmpfsMount fs(std::size_t{256} * 1024);  // hub issue: "mount -t tmpfs -o size=256k"
  REQUIRE_MESSAGE(fs.mounted(), fs.error());
  const std::string path = fs.file("hub.db");
  auto store = open_ok(path);
  stage_range(*store, 0, 10);
  REQUIRE(store->commit().ok());

  CHECK(fs.fill("filler") > 0);
  // Far more than fits in the space left or in the WAL already on disk.
  stage_range(*store, 10, 3000);
  REQUIRE(store->stage_audit(sample_event(kNow, AuditKind::Registered, 10)).ok());
  auto failed = store->commit();
  REQUIRE_FALSE(failed.ok());
  MESSAGE("disk full: " << failed.error().to_string());
  CHECK(failed.error().kind == StoreErrorKind::DiskFull);
  CHECK(store->staged() == 0);
  CHECK(live_count(*store) == 10);  // nothing of the batch
  CHECK(store->audit_events({}).value().empty());

  // Still full: a second attempt fails the same way, and does not wedge the store.
  stage_range(*store, 10, 3000);
  CHECK(store->commit().error().kind == StoreErrorKind::DiskFull);

  REQUIRE(std::remove(fs.file("filler").c_str()) == 0);
  stage_range(*store, 10, 1000);
  auto committed = store->commit();
  REQUIRE_MESSAGE(committed.ok(), (committed.ok() ? "" : committed.error().to_string()));
  CHECK(live_count(*store) == 1010);
  CHECK(store->integrity_check().ok());

  store.reset();  // and the file reopens intact
  store = open_ok(path);
  CHECK(live_count(*store) == 1010);
  CHECK(store->integrity_check().ok());
}

}  // namespace advpnd::db::test
