// SqliteRegistrationStore: the hub's registration cache and audit log in one
// SQLite file (ARCHITECTURE.md "State that must survive"). The contract is
// RegistrationStore's (db/registration_store.h); this file adds how.
//
// - WAL journal, synchronous=FULL by default: a commit() that returned success
//   survives a process crash and a power loss. NORMAL keeps process-crash
//   safety but may lose the last commits on power loss (faster: no fsync per
//   commit; the WAL is synced at checkpoints).
// - busy_timeout is small (the hub is an event loop): a writer that holds the
//   lock longer makes commit() fail with Busy instead of stalling the loop.
// - Every statement is prepared once at open and reset after each use, so a
//   failed commit leaves them all usable; after any failure the store rolls
//   back and the next commit() starts clean (no reopen needed).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "db/registration_store.h"
#include "db/checkpointer.h"
#include "db/sqlite.h"

namespace advpnd::db {

enum class Synchronous : std::uint8_t { Full, Normal };

struct SqliteStoreOptions {
  Synchronous synchronous = Synchronous::Full;
  // Hub issue: "busy_timeout small (the hub is an event loop; e.g. 100 ms, configurable)".
  std::chrono::milliseconds busy_timeout{100};
  // After a checkpoint the WAL file is truncated back to at most this size.
  std::int64_t wal_size_limit_bytes = std::int64_t{64} * 1024 * 1024;
  // Checkpoints run on a thread of their own (db/checkpointer.h), never in
  // a commit on the event loop; 0 keeps SQLite's automatic checkpoints.
  std::chrono::milliseconds background_checkpoint_interval{250};
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
  [[nodiscard]] std::size_t staged() const override { return staged_.size(); }

  [[nodiscard]] Status<StoreError> commit() override;

  [[nodiscard]] Result<std::vector<Binding>, StoreError> load_unexpired(std::int64_t now) override;
  [[nodiscard]] Result<std::vector<Binding>, StoreError> delete_expired(std::int64_t now) override;

  [[nodiscard]] Result<std::size_t, StoreError> prune_audit(std::int64_t older_than) override;
  [[nodiscard]] Result<std::vector<AuditEvent>, StoreError> audit_events(const AuditQuery& query) override;

  // PRAGMA integrity_check: Corrupt with SQLite's findings unless it says "ok".
  [[nodiscard]] Status<StoreError> integrity_check();

  [[nodiscard]] const std::string& path() const { return connection_.path(); }

 private:
  using StagedOp = std::variant<Binding, BindingKey, AuditEvent>;

  // The statements prepared once at open (hub issue: "Prepared statements cached").
  struct Statements {
    Statement begin;
    Statement commit;
    Statement rollback;
    Statement upsert;
    Statement remove;
    Statement insert_audit;
    Statement load_unexpired;
    Statement audit_expired;
    Statement delete_expired;
    Statement prune_audit;
    Statement audit_oldest_first;
    Statement audit_newest_first;
  };

  SqliteRegistrationStore(Connection connection, Statements statements)
      : connection_(std::move(connection)), statements_(std::move(statements)) {}

  [[nodiscard]] static Result<Statements, StoreError> prepare_all(Connection& connection);

  [[nodiscard]] Status<StoreError> begin(std::string_view context);
  [[nodiscard]] Status<StoreError> finish(std::string_view context);
  // Rolls back and prefixes the error with what we were doing.
  [[nodiscard]] StoreError abort(StoreError error, std::string_view context);
  [[nodiscard]] Status<StoreError> apply(const StagedOp& op);

  // Declared first, destroyed last: statements are finalized before the close.
  Connection connection_;
  Statements statements_;
  std::unique_ptr<Checkpointer> checkpointer_;  // destroyed first: stops its thread
  std::vector<StagedOp> staged_;
};

}  // namespace advpnd::db
