// SqliteRegistrationStore: the hub's registration cache and audit log in one
// SQLite file (ARCHITECTURE.md "State that must survive"). The contract is
// RegistrationStore's (db/registration_store.h); this file adds how.
//
// - WAL journal, synchronous=FULL by default: a commit() that returned success
//   survives a process crash and a power loss. NORMAL keeps process-crash
//   safety but may lose the last commits on power loss (faster: no fsync per
//   commit; the WAL is synced at checkpoints).
// - One store thread (db/store_thread.h) owns the connection: commits, sweeps
//   and reads all run there, in the order they were asked for; the event loop
//   only stages operations and hands batches over (commit_async), so it never
//   waits on fsync or on a checkpoint.
// - WAL checkpoints (issue #10 item 1). They run on the store thread, in the
//   commit that leaves the WAL at checkpoint_pages or more (SQLite's automatic
//   PASSIVE checkpoint, wal_autocheckpoint). Because that thread is the only
//   writer, nothing writes while it checkpoints, so the checkpoint reaches the
//   end of the WAL, and the next commit restarts the WAL from its start and
//   truncates the file to wal_size_limit_bytes (journal_size_limit). The WAL
//   thus stays within about checkpoint_pages pages plus one batch. (Before
//   this, a separate checkpointer connection ran PASSIVE checkpoints: on a
//   connection that had never read the file they did nothing at all, and one
//   racing a continuous writer can never reach the WAL's end; the WAL grew
//   without bound: 300 MB for 100k registrations.) open() also checkpoints
//   (TRUNCATE) after recovery, so a WAL left by a kill -9 is folded back at once.
// - busy_timeout is small: another process holding the lock longer makes a
//   commit fail with Busy (code 5) instead of stalling the store thread.
// - Every statement is prepared once at open and reset after each use, so a
//   failed commit leaves them all usable; after any failure the store rolls
//   back and the next commit() starts clean (no reopen needed).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "db/registration_store.h"
#include "db/sqlite.h"
#include "db/store_thread.h"

namespace advpnd::db {

enum class Synchronous : std::uint8_t { Full, Normal };

struct SqliteStoreOptions {
  Synchronous synchronous = Synchronous::Full;
  // Hub issue: "busy_timeout small (the hub is an event loop; e.g. 100 ms, configurable)".
  std::chrono::milliseconds busy_timeout{100};
  // After a checkpoint the WAL file is truncated back to at most this size.
  std::int64_t wal_size_limit_bytes = std::int64_t{4} * 1024 * 1024;
  // The commit that leaves this many pages (4 KiB each) in the WAL
  // checkpoints it, on the store thread. 0: never (only at open; for tests).
  int checkpoint_pages = 1000;
  // SQLite's page cache (PRAGMA cache_size), grown as used. SQLite's default
  // (2 MiB) is far smaller than 100k bindings and their resolvers (~30 MB):
  // every commit then re-read its index pages from the file.
  std::int64_t page_cache_bytes = std::int64_t{64} * 1024 * 1024;
};

class SqliteRegistrationStore final : public RegistrationStore {
 public:
  // Opens or creates the file, switches it to WAL, sets the PRAGMAs and brings
  // the schema up to date (db/schema.h). Fails with SchemaTooNew for a file
  // written by a newer advpnd; with Corrupt for a file that is not SQLite.
  [[nodiscard]] static Result<std::unique_ptr<SqliteRegistrationStore>, StoreError> open(
      const std::string& path, const SqliteStoreOptions& options = {});

  [[nodiscard]] Status<StoreError> stage_upsert(const Binding& binding) override;
  [[nodiscard]] Status<StoreError> stage_remove(const BindingKey& key) override;
  [[nodiscard]] Status<StoreError> stage_audit(const AuditEvent& event) override;
  [[nodiscard]] Status<StoreError> stage_resolver(const ResolverRecord& resolver) override;
  [[nodiscard]] std::size_t staged() const override { return staged_.size(); }

  void commit_async(CommitDone done) override;
  [[nodiscard]] Status<StoreError> commit() override;

  [[nodiscard]] Result<std::vector<Binding>, StoreError> load_unexpired(std::int64_t now) override;
  [[nodiscard]] Result<std::vector<Binding>, StoreError> delete_expired(std::int64_t now) override;
  [[nodiscard]] Result<std::vector<ResolverRecord>, StoreError> load_resolvers(std::int64_t now) override;

  [[nodiscard]] Result<std::size_t, StoreError> prune_audit(std::int64_t older_than) override;
  void sweep_async(std::int64_t now, std::int64_t audit_older_than, SweepDone done) override;
  [[nodiscard]] Result<std::vector<AuditEvent>, StoreError> audit_events(const AuditQuery& query) override;

  // PRAGMA integrity_check: Corrupt with SQLite's findings unless it says "ok".
  [[nodiscard]] Status<StoreError> integrity_check();

  [[nodiscard]] const std::string& path() const { return connection_.path(); }

  // The event loop watches this fd and calls deliver_completions() when it is
  // readable: that runs the `done` of every finished commit_async(), in order.
  [[nodiscard]] int completion_fd() const { return thread_->completion_fd(); }
  std::size_t deliver_completions() { return thread_->deliver_completions(); }
  // Blocks until every batch handed over has been committed (shutdown, tests);
  // their `done` then waits for deliver_completions().
  void wait_idle() { thread_->wait_idle(); }
  // Batches handed over whose `done` has not run yet.
  [[nodiscard]] std::size_t commits_in_flight() const { return thread_->in_flight(); }

 private:
  using StagedOp = std::variant<Binding, BindingKey, AuditEvent, ResolverRecord>;

  // The statements prepared once at open (hub issue: "Prepared statements cached").
  struct Statements {
    Statement begin;
    Statement commit;
    Statement rollback;
    Statement upsert;
    Statement remove;
    Statement insert_audit;
    Statement remove_resolvers;
    Statement upsert_resolver;
    Statement delete_expired_resolvers;
    Statement load_resolvers;
    Statement load_unexpired;
    Statement audit_expired;
    Statement delete_expired;
    Statement prune_audit;
    Statement audit_oldest_first;
    Statement audit_newest_first;
  };

  SqliteRegistrationStore(Connection connection, Statements statements, std::unique_ptr<StoreThread> thread)
      : connection_(std::move(connection)), statements_(std::move(statements)), thread_(std::move(thread)) {}

  [[nodiscard]] static Result<Statements, StoreError> prepare_all(Connection& connection);

  [[nodiscard]] Status<StoreError> begin(std::string_view context);
  [[nodiscard]] Status<StoreError> finish(std::string_view context);
  // Rolls back and prefixes the error with what we were doing.
  [[nodiscard]] StoreError abort(StoreError error, std::string_view context);
  [[nodiscard]] Status<StoreError> apply(const StagedOp& op);
  // The bodies of the public calls, run on the store thread.
  [[nodiscard]] Result<std::vector<Binding>, StoreError> load_unexpired_here(std::int64_t now);
  [[nodiscard]] Result<std::vector<Binding>, StoreError> delete_expired_here(std::int64_t now);
  [[nodiscard]] Result<std::size_t, StoreError> prune_audit_here(std::int64_t older_than);
  [[nodiscard]] Result<std::vector<AuditEvent>, StoreError> audit_events_here(const AuditQuery& query);
  [[nodiscard]] Status<StoreError> integrity_check_here();
  // On the store thread: one batch in one transaction.
  [[nodiscard]] Status<StoreError> write_batch(const std::vector<StagedOp>& batch);
  // Runs `body` on the store thread and returns its result (ordered after
  // every batch handed over before).
  template <class T>
  T on_store_thread(const std::function<T()>& body);

  // Declared first, destroyed last: statements are finalized before the close.
  Connection connection_;
  Statements statements_;
  // Destroyed first: finishes the queued batches and stops before the
  // statements and the connection go. Only it touches them after open().
  std::unique_ptr<StoreThread> thread_;
  std::vector<StagedOp> staged_;  // the event loop's side only
};

}  // namespace advpnd::db
