// The WAL stays bounded (issue #10 item 1). Measured on main before the fix:
// hub.db stayed 4 KB while hub.db-wal grew to 300 MB over 100k registrations,
// because nothing ever checkpointed. These tests watch the EFFECT on the real
// files: the main database grows (rows reach it) and the -wal file stays
// within a few MB, while a sustained stream of group commits runs, after it
// stops, and after a kill -9 of the writer (the checkpoint at open).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "db/sqlite_registration_store.h"
#include "tests/db/db_test_support.h"

namespace advpnd::db::test {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
// The hub's shape: one transaction per event-loop turn, each a few hundred
// upserts plus their audit rows.
constexpr std::uint32_t kPerBatch = 500;
constexpr std::uint32_t kBatches = 100;  // 50k bindings, 50k audit rows: ~15 MB of WAL unchecked
constexpr std::int64_t kWalLimit = std::int64_t{1} << 20;
// What "bounded" means here: the limit plus what one checkpoint interval may
// add before it runs (a batch of 500 bindings and audit rows is ~250 KB of
// pages; the checkpoint threshold is 1000 pages = 4 MB).
constexpr std::uintmax_t kWalBound = std::uintmax_t{8} << 20;
constexpr std::uint32_t kBatchesBeforeKill = 40;  // ~6 MB of WAL without checkpoints

SqliteStoreOptions bounded_options() {
  SqliteStoreOptions options;
  options.synchronous = Synchronous::Normal;  // the test is about the WAL, not fsync latency
  options.wal_size_limit_bytes = kWalLimit;
  return options;
}

std::uintmax_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// One batch as the hub writes it: upserts of fresh bindings and an audit row each.
void stage_batch(RegistrationStore& store, std::uint32_t batch) {
  for (std::uint32_t j = 0; j < kPerBatch; ++j) {
    const std::uint32_t i = batch * kPerBatch + j;
    REQUIRE(store.stage_upsert(sample_binding(i, kNow + 3600)).ok());
    REQUIRE(store.stage_audit(sample_event(kNow, AuditKind::Registered, i)).ok());
  }
}

}  // namespace

TEST_CASE("wal: under a sustained storm the database grows and the WAL stays bounded") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto opened = SqliteRegistrationStore::open(path, bounded_options());
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().to_string()));
  auto& store = *opened.value();

  std::uintmax_t largest_wal = 0;
  for (std::uint32_t batch = 0; batch < kBatches; ++batch) {
    stage_batch(store, batch);
    auto committed = store.commit();
    REQUIRE_MESSAGE(committed.ok(), (committed.ok() ? "" : committed.error().to_string()));
    largest_wal = std::max(largest_wal, file_size(path + "-wal"));
  }
  MESSAGE("while writing: largest WAL " << largest_wal << " bytes; database " << file_size(path) << " bytes");
  CHECK(largest_wal <= kWalBound);
  // 50k bindings and 50k audit rows are several MB: they must be in the
  // database file itself, not only in the WAL.
  CHECK(file_size(path) >= (std::uintmax_t{4} << 20));

  // After the writes stop, still bounded (nothing grows by itself).
  const std::uintmax_t wal_after = file_size(path + "-wal");
  CHECK(wal_after <= kWalBound);
  auto rows = store.load_unexpired(kNow);
  REQUIRE(rows.ok());
  CHECK(rows->size() == std::size_t{kPerBatch} * kBatches);
}

TEST_CASE("wal: batches handed over without waiting commit in order, and the WAL stays bounded meanwhile") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto opened = SqliteRegistrationStore::open(path, bounded_options());
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().to_string()));
  auto& store = *opened.value();

  // The hub's path: every batch handed over at once, none waited for.
  std::vector<std::uint32_t> done_order;
  std::size_t failures = 0;
  for (std::uint32_t batch = 0; batch < kBatches; ++batch) {
    stage_batch(store, batch);
    store.commit_async([&, batch](const Status<StoreError>& status) {
      done_order.push_back(batch);
      if (!status.ok()) ++failures;
    });
    CHECK(store.staged() == 0);
  }
  CHECK(done_order.empty());  // nothing runs on this thread until delivered
  std::uintmax_t largest_wal = 0;
  while (store.commits_in_flight() > 0) {
    largest_wal = std::max(largest_wal, file_size(path + "-wal"));
    (void)store.deliver_completions();
  }
  store.wait_idle();
  (void)store.deliver_completions();
  MESSAGE("asynchronous storm: largest WAL " << largest_wal << " bytes; database " << file_size(path) << " bytes");
  CHECK(largest_wal <= kWalBound);
  CHECK(file_size(path + "-wal") <= kWalBound);
  CHECK(failures == 0);
  REQUIRE(done_order.size() == kBatches);
  CHECK(std::is_sorted(done_order.begin(), done_order.end()));
  auto rows = store.load_unexpired(kNow);
  REQUIRE(rows.ok());
  CHECK(rows->size() == std::size_t{kPerBatch} * kBatches);
}

TEST_CASE("wal: after a kill -9 of the writer, reopening folds the WAL into the database") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  std::array<int, 2> fds{};
  REQUIRE(::pipe(fds.data()) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The writer: no checkpoints at all (as before the fix, or killed
    // between two), then SIGKILL from the parent.
    ::close(fds[0]);
    SqliteStoreOptions options = bounded_options();
    options.checkpoint_pages = 0;
    auto writer = SqliteRegistrationStore::open(path, options);
    if (!writer) _exit(2);
    for (std::uint32_t batch = 0; batch < kBatchesBeforeKill; ++batch) {
      stage_batch(*writer.value(), batch);
      if (!writer.value()->commit()) _exit(3);
    }
    const char done = 1;
    if (::write(fds[1], &done, 1) != 1) _exit(4);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  char done = 0;
  REQUIRE(::read(fds[0], &done, 1) == 1);
  ::close(fds[0]);
  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  const std::uintmax_t wal_at_kill = file_size(path + "-wal");
  MESSAGE("WAL left by the killed writer: " << wal_at_kill << " bytes; database " << file_size(path) << " bytes");
  // The test means something only if the killed writer left a big WAL.
  REQUIRE(wal_at_kill > 4 * static_cast<std::uintmax_t>(kWalLimit));

  auto reopened = SqliteRegistrationStore::open(path, bounded_options());
  REQUIRE_MESSAGE(reopened.ok(), (reopened.ok() ? "" : reopened.error().to_string()));
  auto& store = *reopened.value();
  const std::uintmax_t wal_after_open = file_size(path + "-wal");
  MESSAGE("after reopening: WAL " << wal_after_open << " bytes; database " << file_size(path) << " bytes");
  CHECK(wal_after_open <= static_cast<std::uintmax_t>(kWalLimit));
  CHECK(file_size(path) >= (std::uintmax_t{2} << 20));
  auto rows = store.load_unexpired(kNow);
  REQUIRE(rows.ok());
  CHECK(rows->size() == std::size_t{kPerBatch} * kBatchesBeforeKill);
  CHECK(store.integrity_check().ok());
}

}  // namespace advpnd::db::test
