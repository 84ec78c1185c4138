// Micro benchmarks of the hub's SQLite store (hub issue: "the hub must
// acknowledge 100,000 registrations within 5 s on 2 cores (the SQLite part
// needs to be a small fraction of that): measure commit of batches (1, 100,
// 1000, 10000 upserts per transaction) and load_unexpired of 100k rows").
//
// Real files in a temporary directory (TMPDIR, else /tmp), so fsync costs what
// it costs on that disk. Wall time (UseRealTime): a commit mostly waits for
// fsync, which CPU time would hide. Run:
//   bench_db_store --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "db/sqlite_registration_store.h"

namespace advpnd::db {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::uint32_t kKeySpace = 100'000;  // the hub's target scale; later rounds refresh rows

class BenchDir {
 public:
  BenchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "advpnd-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  ~BenchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] bool ok() const { return !path_.empty(); }
  [[nodiscard]] std::string file(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Binding make_binding(std::uint32_t i, std::int64_t expires_at) {
  Binding b;
  b.key.protocol = IpAddress::v4(0x0a000000U + i);  // 10.0.0.0/8
  b.key.prefix_len = 32;
  b.key.nbma = IpAddress::v4(0xc6120000U + i);  // 198.18.0.0/15
  b.post_nat_nbma = IpAddress::v4(0xcb007100U + (i & 0xffU));
  b.holding_time_s = 7200;
  b.expires_at = expires_at;
  b.registered_at = expires_at - 7200;
  b.unique = true;
  b.mtu = 1400;
  b.identity = "spoke-" + std::to_string(i) + ".example.net";
  b.request_id = i;
  return b;
}

std::unique_ptr<SqliteRegistrationStore> open_store(benchmark::State& state, const BenchDir& dir, Synchronous sync) {
  if (!dir.ok()) {
    state.SkipWithError("mkdtemp failed");
    return nullptr;
  }
  SqliteStoreOptions options;
  options.synchronous = sync;
  auto opened = SqliteRegistrationStore::open(dir.file("hub.db"), options);
  if (!opened) {
    state.SkipWithError(opened.error().to_string().c_str());
    return nullptr;
  }
  return std::move(opened).value();
}

bool fill(benchmark::State& state, RegistrationStore& store, std::uint32_t first, std::uint32_t count,
          std::int64_t expires_at) {
  for (std::uint32_t i = first; i < first + count; ++i) {
    if (!store.stage_upsert(make_binding(i % kKeySpace, expires_at))) {
      state.SkipWithError("stage_upsert refused a binding");
      return false;
    }
  }
  if (auto committed = store.commit(); !committed) {
    state.SkipWithError(committed.error().to_string().c_str());
    return false;
  }
  return true;
}

// One event-loop turn: stage N upserts, commit them in one transaction.
// Args: {batch size, 0 = synchronous FULL | 1 = NORMAL}.
void BM_CommitBatch(benchmark::State& state) {
  const auto batch = static_cast<std::uint32_t>(state.range(0));
  const Synchronous sync = state.range(1) == 0 ? Synchronous::Full : Synchronous::Normal;
  BenchDir dir;
  auto store = open_store(state, dir, sync);
  if (!store) return;
  std::uint32_t next = 0;
  for (auto _ : state) {
    if (!fill(state, *store, next, batch, kNow + 7200)) return;
    next += batch;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * batch);  // registrations/s
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(sync == Synchronous::Full ? "synchronous=FULL" : "synchronous=NORMAL");
}
BENCHMARK(BM_CommitBatch)
    ->ArgsProduct({{1, 100, 1000, 10000}, {0, 1}})
    ->ArgNames({"batch", "normal"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Startup after a restart: every unexpired binding of a 100k-row file.
void BM_LoadUnexpired(benchmark::State& state) {
  const auto rows = static_cast<std::uint32_t>(state.range(0));
  BenchDir dir;
  auto store = open_store(state, dir, Synchronous::Full);
  if (!store || !fill(state, *store, 0, rows, kNow + 7200)) return;
  for (auto _ : state) {
    auto loaded = store->load_unexpired(kNow);
    if (!loaded || loaded->size() != rows) {
      state.SkipWithError("load_unexpired failed or returned the wrong count");
      return;
    }
    benchmark::DoNotOptimize(loaded->data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * rows);
}
BENCHMARK(BM_LoadUnexpired)->Arg(100'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// The expiry sweep: 10k of 100k bindings expired (delete + audit in one
// transaction). Refilling the 10k is not timed.
void BM_DeleteExpired(benchmark::State& state) {
  constexpr std::uint32_t kRows = 100'000;
  const auto expired = static_cast<std::uint32_t>(state.range(0));
  BenchDir dir;
  auto store = open_store(state, dir, Synchronous::Full);
  if (!store || !fill(state, *store, expired, kRows - expired, kNow + 7200)) return;
  for (auto _ : state) {
    state.PauseTiming();
    const bool filled = fill(state, *store, 0, expired, kNow - 1);
    state.ResumeTiming();
    if (!filled) return;
    auto deleted = store->delete_expired(kNow);
    if (!deleted || deleted->size() != expired) {
      state.SkipWithError("delete_expired failed or returned the wrong count");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * expired);
}
BENCHMARK(BM_DeleteExpired)->Arg(10'000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace advpnd::db

BENCHMARK_MAIN();
