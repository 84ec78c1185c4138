// Durability across kill -9 (hub issue; ARCHITECTURE.md "a registration is
// acknowledged only after the transaction that holds it commits"). A child
// process commits batches in a loop and acknowledges each batch number on a
// pipe once commit() has returned — the point where the hub would send its
// Registration Replies. The parent SIGKILLs it mid-storm, reopens the file and
// checks that every acknowledged binding is there, that every batch is all or
// nothing, and that the file is not corrupt.
//
// kill -9 tests process-crash consistency (the page cache survives); power
// loss is what synchronous=FULL adds on top, which a test cannot pull the plug on.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "db/sqlite_registration_store.h"
#include "tests/db/db_test_support.h"

namespace advpnd::db::test {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::uint32_t kPerBatch = 50;
constexpr std::uint32_t kMaxBatches = 5000;  // the child stops by itself if never killed
constexpr auto kChildDeadline = std::chrono::seconds(30);

// Child side: no doctest macros, no return into the test runner; exit codes
// tell the parent what went wrong if it ever exits on its own.
[[noreturn]] void run_writer(const std::string& path, int ack_fd) {
  auto opened = SqliteRegistrationStore::open(path);
  if (!opened) _exit(2);
  auto& store = *opened.value();
  const auto deadline = std::chrono::steady_clock::now() + kChildDeadline;
  for (std::uint32_t batch = 0; batch < kMaxBatches && std::chrono::steady_clock::now() < deadline; ++batch) {
    for (std::uint32_t j = 0; j < kPerBatch; ++j) {
      if (!store.stage_upsert(sample_binding(batch * kPerBatch + j, kNow + 3600))) _exit(3);
    }
    if (!store.stage_audit(sample_event(kNow, AuditKind::Registered, batch))) _exit(3);
    if (!store.commit()) _exit(4);
    // Only now is the batch acknowledged.
    if (::write(ack_fd, &batch, sizeof batch) != static_cast<ssize_t>(sizeof batch)) _exit(5);
  }
  _exit(0);
}

// Reads acknowledged batch numbers until `kill_after` of them arrived, kills
// the child, then drains what it wrote before dying (until EOF).
std::vector<std::uint32_t> collect_acks(pid_t child, int ack_fd, std::size_t kill_after) {
  std::vector<std::uint32_t> acks;
  std::array<unsigned char, 4096> buffer{};
  std::size_t pending = 0;
  bool killed = false;
  for (;;) {
    const ssize_t n = ::read(ack_fd, buffer.data() + pending, buffer.size() - pending);
    if (n <= 0) break;  // EOF: the child is gone
    pending += static_cast<std::size_t>(n);
    std::size_t used = 0;
    for (; pending - used >= sizeof(std::uint32_t); used += sizeof(std::uint32_t)) {
      std::uint32_t batch = 0;
      std::memcpy(&batch, buffer.data() + used, sizeof batch);
      acks.push_back(batch);
    }
    std::memmove(buffer.data(), buffer.data() + used, pending - used);
    pending -= used;
    if (!killed && acks.size() >= kill_after) {
      ::kill(child, SIGKILL);
      killed = true;
    }
  }
  if (!killed) ::kill(child, SIGKILL);
  return acks;
}

}  // namespace

TEST_CASE("durability: every acknowledged batch survives kill -9 of the writer") {
  for (const std::size_t kill_after : {7U, 40U, 90U}) {
    CAPTURE(kill_after);
    TempDir dir;
    const std::string path = dir.file("hub.db");
    std::array<int, 2> fds{};
    REQUIRE(::pipe(fds.data()) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      run_writer(path, fds[1]);
    }
    ::close(fds[1]);
    const std::vector<std::uint32_t> acks = collect_acks(child, fds[0], kill_after);
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("child status " << status);
    CHECK(WIFSIGNALED(status));
    REQUIRE(acks.size() >= kill_after);

    auto reopened = SqliteRegistrationStore::open(path);
    REQUIRE_MESSAGE(reopened.ok(), (reopened.ok() ? "" : reopened.error().to_string()));
    auto& store = *reopened.value();
    CHECK(store.integrity_check().ok());
    auto rows = store.load_unexpired(kNow);
    REQUIRE(rows.ok());

    // sample_binding(i) has request_id 0x10000 + i, and batch b holds i = b * kPerBatch + j.
    std::map<std::uint32_t, std::uint32_t> per_batch;
    for (const Binding& b : rows.value()) ++per_batch[(b.request_id - 0x10000U) / kPerBatch];
    for (const std::uint32_t batch : acks) {
      const auto found = per_batch.find(batch);
      const std::uint32_t count = found == per_batch.end() ? 0 : found->second;
      CHECK_MESSAGE(count == kPerBatch, "acknowledged batch " << batch << " has " << count << " rows");
    }
    for (const auto& entry : per_batch) {
      const std::uint32_t batch = entry.first;
      const std::uint32_t count = entry.second;
      CHECK_MESSAGE(count == kPerBatch, "batch " << batch << " is partial: " << count << " rows");
    }
    // At most the batch in flight at the kill is present without its ack.
    CHECK(per_batch.size() <= acks.size() + 1);
    auto audit = store.audit_events(AuditQuery{kNow, 1'000'000, false});
    REQUIRE(audit.ok());
    CHECK(audit->size() == per_batch.size());
    MESSAGE("killed after " << acks.size() << " acknowledged batches; " << per_batch.size() << " on disk");
  }
}

}  // namespace advpnd::db::test
