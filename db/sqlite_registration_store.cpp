#include "db/sqlite_registration_store.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "db/schema.h"

namespace advpnd::db {
namespace {

// ---- SQL (schema: db/schema.cpp) ------------------------------------------

constexpr std::string_view kBindingColumns =
    "protocol_addr, prefix_len, nbma_addr, post_nat_nbma, holding_time, expires_at, registered_at, "
    "is_unique, mtu, identity, request_id";

constexpr std::string_view kUpsert =
    "INSERT INTO binding (protocol_addr, prefix_len, nbma_addr, post_nat_nbma, holding_time, expires_at, "
    "registered_at, is_unique, mtu, identity, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (protocol_addr, prefix_len, nbma_addr) DO UPDATE SET "
    "post_nat_nbma = excluded.post_nat_nbma, holding_time = excluded.holding_time, "
    "expires_at = excluded.expires_at, registered_at = excluded.registered_at, "
    "is_unique = excluded.is_unique, mtu = excluded.mtu, identity = excluded.identity, "
    "request_id = excluded.request_id";

constexpr std::string_view kRemove =
    "DELETE FROM binding WHERE protocol_addr = ?1 AND prefix_len = ?2 AND nbma_addr = ?3";

constexpr std::string_view kRemoveResolvers =
    "DELETE FROM resolver WHERE protocol_addr = ?1 AND prefix_len = ?2 AND nbma_addr = ?3";

constexpr std::string_view kUpsertResolver =
    "INSERT INTO resolver (protocol_addr, prefix_len, nbma_addr, requester_nbma, requester_protocol, until) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (protocol_addr, prefix_len, nbma_addr, requester_nbma) DO UPDATE "
    "SET requester_protocol = excluded.requester_protocol, until = excluded.until";

// The sweep: resolvers whose copy expired, and those of expired bindings.
constexpr std::string_view kDeleteExpiredResolvers =
    "DELETE FROM resolver WHERE until <= ?1 OR (protocol_addr, prefix_len, nbma_addr) IN "
    "(SELECT protocol_addr, prefix_len, nbma_addr FROM binding WHERE expires_at <= ?1)";

constexpr std::string_view kLoadResolvers =
    "SELECT protocol_addr, prefix_len, nbma_addr, requester_nbma, requester_protocol, until FROM resolver "
    "WHERE until > ?1";

constexpr std::string_view kInsertAudit =
    "INSERT INTO audit (at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len, reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

// Startup reads (nearly) every row. The unary '+' keeps SQLite from walking
// binding_expires_at and looking each row up by key (it does so otherwise, and
// NOT INDEXED does not stop it on a WITHOUT ROWID table): one sequential pass
// over the table instead, 28 ms instead of 48 ms for 100k warm rows
// (bench_db_store BM_LoadUnexpired), and no random reads on a cold file.
std::string load_unexpired_sql() {
  return "SELECT " + std::string(kBindingColumns) + " FROM binding WHERE +expires_at > ?1";
}

// The audit rows of a sweep, written in the sweep's transaction.
constexpr std::string_view kAuditExpired =
    "INSERT INTO audit (at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len, reason) "
    "SELECT ?1, 'expired', nbma_addr, post_nat_nbma, protocol_addr, prefix_len, 'holding time elapsed' "
    "FROM binding WHERE expires_at <= ?1";

std::string delete_expired_sql() {
  return "DELETE FROM binding WHERE expires_at <= ?1 RETURNING " + std::string(kBindingColumns);
}

constexpr std::string_view kPruneAudit = "DELETE FROM audit WHERE at < ?1";

constexpr std::string_view kAuditColumns = "at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len, reason";

std::string audit_sql(bool newest_first) {
  return "SELECT " + std::string(kAuditColumns) + " FROM audit WHERE at >= ?1 ORDER BY " +
         (newest_first ? "at DESC, id DESC" : "at, id") + " LIMIT ?2";
}

// ---- row decoding ---------------------------------------------------------

template <class T>
bool fits(std::int64_t value) {
  return value >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
         static_cast<std::uint64_t>(value) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
}

Unexpected<StoreError> corrupt(std::string what) { return fail(StoreError{StoreErrorKind::Corrupt, std::move(what)}); }

// The CHECK constraints make these impossible unless the file was damaged or
// written by something else; a row we cannot decode is reported, not guessed.
Result<Binding, StoreError> read_binding(const Statement& row) {
  auto protocol = row.column_address(0);
  auto nbma = row.column_address(2);
  auto post_nat = row.column_address(3);
  if (!protocol || protocol->empty() || !nbma || nbma->empty() || !post_nat) {
    return corrupt("binding row with a malformed address column");
  }
  const std::int64_t prefix = row.column_int64(1);
  const std::int64_t holding = row.column_int64(4);
  const std::int64_t is_unique = row.column_int64(7);
  const std::int64_t mtu = row.column_int64(8);
  const std::int64_t request_id = row.column_int64(10);
  if (prefix < 0 || prefix > static_cast<std::int64_t>(protocol->bit_width()) || !fits<std::uint16_t>(holding) ||
      (is_unique & ~1) != 0 || !fits<std::uint16_t>(mtu) || !fits<std::uint32_t>(request_id)) {
    return corrupt("binding row for " + protocol->to_string() + " with an out-of-range column");
  }
  Binding binding;
  binding.key = BindingKey{*protocol, static_cast<std::uint8_t>(prefix), *nbma};
  binding.post_nat_nbma = *post_nat;
  binding.holding_time_s = static_cast<std::uint16_t>(holding);
  binding.expires_at = row.column_int64(5);
  binding.registered_at = row.column_int64(6);
  binding.unique = is_unique == 1;
  binding.mtu = static_cast<std::uint16_t>(mtu);
  binding.identity = row.column_text(9);
  binding.request_id = static_cast<std::uint32_t>(request_id);
  return binding;
}

Result<ResolverRecord, StoreError> read_resolver(const Statement& row) {
  auto protocol = row.column_address(0);
  auto nbma = row.column_address(2);
  auto requester_nbma = row.column_address(3);
  auto requester_protocol = row.column_address(4);
  const std::int64_t prefix = row.column_int64(1);
  if (!protocol || protocol->empty() || !nbma || nbma->empty() || !requester_nbma || requester_nbma->empty() ||
      !requester_protocol || prefix < 0 || prefix > static_cast<std::int64_t>(protocol->bit_width())) {
    return corrupt("resolver row with a malformed column");
  }
  return ResolverRecord{BindingKey{*protocol, static_cast<std::uint8_t>(prefix), *nbma}, *requester_nbma,
                        *requester_protocol, row.column_int64(5)};
}

Result<AuditEvent, StoreError> read_audit(const Statement& row) {
  auto kind = parse_audit_kind(row.column_text(1));
  auto nbma = row.column_address(2);
  auto post_nat = row.column_address(3);
  auto protocol = row.column_address(4);
  const std::int64_t prefix = row.column_int64(5);
  if (!kind || !nbma || !post_nat || !protocol || prefix < 0 || prefix > 128) {
    return corrupt("audit row with a malformed column");
  }
  return AuditEvent{row.column_int64(0), *kind, *nbma, *post_nat, *protocol, static_cast<std::uint8_t>(prefix),
                    row.column_text(6)};
}

void bind_key(Statement& statement, const BindingKey& key) {
  statement.bind(1, key.protocol);
  statement.bind(2, std::int64_t{key.prefix_len});
  statement.bind(3, key.nbma);
}

// Runs a SELECT or RETURNING statement (already bound) and decodes each row.
template <class T, class Decode>
Result<std::vector<T>, StoreError> collect(Statement& statement, Decode decode) {
  std::vector<T> out;
  for (;;) {
    auto row = statement.step();
    if (!row) return fail(row.error());
    if (!row.value()) return out;
    auto decoded = decode(statement);
    if (!decoded) return fail(decoded.error());
    out.push_back(std::move(decoded).value());
  }
}

std::string_view synchronous_pragma(Synchronous level) {
  return level == Synchronous::Normal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL";
}

// Hub issue: "PRAGMAs: journal_mode=WAL, synchronous=FULL by default (option
// NORMAL), busy_timeout small ..., foreign_keys on".
Status<StoreError> configure(Connection& connection, const SqliteStoreOptions& options) {
  // busy_timeout first, so that switching to WAL waits briefly for another opener.
  if (auto ok = connection.set_busy_timeout(options.busy_timeout); !ok) return ok;
  auto mode = connection.query_text("PRAGMA journal_mode = WAL");
  if (!mode) return fail(mode.error());
  if (mode.value() != "wal") {
    return fail(StoreError{StoreErrorKind::Other, "cannot use WAL (journal_mode is \"" + mode.value() + "\")"});
  }
  if (auto ok = connection.exec(synchronous_pragma(options.synchronous)); !ok) return ok;
  // No foreign keys in schema version 1; on, so that a later migration's are enforced.
  if (auto ok = connection.exec("PRAGMA foreign_keys = ON"); !ok) return ok;
  // Header: the automatic checkpoint runs in the store thread's commits.
  if (auto ok = connection.exec("PRAGMA wal_autocheckpoint = " + std::to_string(std::max(options.checkpoint_pages, 0)));
      !ok) {
    return ok;
  }
  // A negative cache_size is in KiB.
  if (auto ok = connection.exec("PRAGMA cache_size = -" +
                                std::to_string(std::max<std::int64_t>(options.page_cache_bytes / 1024, 1)));
      !ok) {
    return ok;
  }
  return connection.exec("PRAGMA journal_size_limit = " + std::to_string(options.wal_size_limit_bytes));
}

}  // namespace

// ---- open -----------------------------------------------------------------

Result<SqliteRegistrationStore::Statements, StoreError> SqliteRegistrationStore::prepare_all(Connection& connection) {
  Statements s;
  const std::pair<Statement*, std::string> table[] = {
      {&s.begin, "BEGIN IMMEDIATE"},
      {&s.commit, "COMMIT"},
      {&s.rollback, "ROLLBACK"},
      {&s.upsert, std::string(kUpsert)},
      {&s.remove, std::string(kRemove)},
      {&s.insert_audit, std::string(kInsertAudit)},
      {&s.remove_resolvers, std::string(kRemoveResolvers)},
      {&s.upsert_resolver, std::string(kUpsertResolver)},
      {&s.delete_expired_resolvers, std::string(kDeleteExpiredResolvers)},
      {&s.load_resolvers, std::string(kLoadResolvers)},
      {&s.load_unexpired, load_unexpired_sql()},
      {&s.audit_expired, std::string(kAuditExpired)},
      {&s.delete_expired, delete_expired_sql()},
      {&s.prune_audit, std::string(kPruneAudit)},
      {&s.audit_oldest_first, audit_sql(false)},
      {&s.audit_newest_first, audit_sql(true)},
  };
  for (const auto& [statement, sql] : table) {
    auto prepared = connection.prepare(sql, /*persistent=*/true);
    if (!prepared) return fail(prepared.error());
    *statement = std::move(prepared).value();
  }
  return s;
}

Result<std::unique_ptr<SqliteRegistrationStore>, StoreError> SqliteRegistrationStore::open(
    const std::string& path, const SqliteStoreOptions& options) {
  auto connection = Connection::open(path, Connection::Mode::ReadWriteCreate);
  if (!connection) return fail(connection.error());
  auto opening = [&](const StoreError& error) {
    return fail(StoreError{error.kind, "open " + path + ": " + error.message});
  };
  if (connection->read_only()) {
    // Say so now, rather than with whatever the first write happens to hit.
    return opening(StoreError{StoreErrorKind::ReadOnly,
                              "the file can only be opened for reading (permissions or a read-only file "
                              "system); the hub must write its registrations"});
  }
  if (auto ok = configure(*connection, options); !ok) return opening(ok.error());
  if (auto ok = migrate(*connection); !ok) return opening(ok.error());
  // Recovery (of a WAL left by a kill -9) has run by now: fold that WAL back
  // into the database and truncate it. Best effort: should another process
  // hold the file busy, the first automatic checkpoint does it later.
  (void)connection->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  auto statements = prepare_all(*connection);
  if (!statements) return opening(statements.error());
  auto thread = StoreThread::create();
  if (!thread) return opening(StoreError{StoreErrorKind::Other, "store thread: " + thread.error()});
  return std::unique_ptr<SqliteRegistrationStore>(new SqliteRegistrationStore(
      std::move(connection).value(), std::move(statements).value(), std::move(thread).value()));
}

// ---- staging and commit ---------------------------------------------------

Status<StoreError> SqliteRegistrationStore::stage_upsert(const Binding& binding) {
  if (auto ok = validate(binding); !ok) return ok;
  staged_.emplace_back(binding);
  return {};
}

Status<StoreError> SqliteRegistrationStore::stage_remove(const BindingKey& key) {
  if (auto ok = validate(key); !ok) return ok;
  staged_.emplace_back(key);
  return {};
}

Status<StoreError> SqliteRegistrationStore::stage_resolver(const ResolverRecord& resolver) {
  if (auto ok = validate(resolver); !ok) return ok;
  staged_.emplace_back(resolver);
  return {};
}

Status<StoreError> SqliteRegistrationStore::stage_audit(const AuditEvent& event) {
  if (auto ok = validate(event); !ok) return ok;
  staged_.emplace_back(event);
  return {};
}

StoreError SqliteRegistrationStore::abort(StoreError error, std::string_view context) {
  // Hub issue: "after a failed commit the store must recover by itself".
  // SQLite may have rolled back already (SQLITE_FULL, IOERR, BUSY); if it did
  // not, we do. Should ROLLBACK itself fail, begin() retries it next time.
  if (connection_.in_transaction()) {
    ScopedReset reset(statements_.rollback);
    (void)statements_.rollback.run();
  }
  error.message = std::string(context) + ": " + error.message;
  return error;
}

Status<StoreError> SqliteRegistrationStore::begin(std::string_view context) {
  if (connection_.in_transaction()) {
    // Left open by a ROLLBACK that failed earlier: finish that first.
    if (auto ok = connection_.rollback(); !ok) return fail(abort(ok.error(), context));
  }
  ScopedReset reset(statements_.begin);
  if (auto ok = statements_.begin.run(); !ok) return fail(abort(ok.error(), context));
  return {};
}

Status<StoreError> SqliteRegistrationStore::finish(std::string_view context) {
  ScopedReset reset(statements_.commit);
  if (auto ok = statements_.commit.run(); !ok) return fail(abort(ok.error(), context));
  return {};
}

Status<StoreError> SqliteRegistrationStore::apply(const StagedOp& op) {
  if (const auto* binding = std::get_if<Binding>(&op)) {
    Statement& s = statements_.upsert;
    ScopedReset reset(s);
    bind_key(s, binding->key);
    s.bind(4, binding->post_nat_nbma);
    s.bind(5, std::int64_t{binding->holding_time_s});
    s.bind(6, binding->expires_at);
    s.bind(7, binding->registered_at);
    s.bind(8, std::int64_t{binding->unique ? 1 : 0});
    s.bind(9, std::int64_t{binding->mtu});
    s.bind(10, binding->identity);
    s.bind(11, std::int64_t{binding->request_id});
    return s.run();
  }
  if (const auto* key = std::get_if<BindingKey>(&op)) {
    {
      ScopedReset reset(statements_.remove_resolvers);
      bind_key(statements_.remove_resolvers, *key);
      if (auto ok = statements_.remove_resolvers.run(); !ok) return ok;
    }
    ScopedReset reset(statements_.remove);
    bind_key(statements_.remove, *key);
    return statements_.remove.run();
  }
  if (const auto* resolver = std::get_if<ResolverRecord>(&op)) {
    Statement& s = statements_.upsert_resolver;
    ScopedReset reset(s);
    bind_key(s, resolver->binding);
    s.bind(4, resolver->requester_nbma);
    s.bind(5, resolver->requester_protocol);
    s.bind(6, resolver->until);
    return s.run();
  }
  const auto& event = std::get<AuditEvent>(op);
  Statement& s = statements_.insert_audit;
  ScopedReset reset(s);
  s.bind(1, event.at);
  s.bind(2, to_string(event.kind));
  s.bind(3, event.nbma);
  s.bind(4, event.post_nat_nbma);
  s.bind(5, event.protocol);
  s.bind(6, std::int64_t{event.prefix_len});
  s.bind(7, event.reason);
  return s.run();
}

template <class T>
T SqliteRegistrationStore::on_store_thread(const std::function<T()>& body) {
  std::optional<T> result;
  thread_->call([&] { result.emplace(body()); });
  return std::move(*result);
}

// Hub issue: "Group commit: the hub stages the writes of one event-loop turn
// and commits them in ONE transaction" and "on failure nothing of the batch is
// applied and the batch is dropped". Runs on the store thread.
Status<StoreError> SqliteRegistrationStore::write_batch(const std::vector<StagedOp>& batch) {
  const std::string context = "commit of " + std::to_string(batch.size()) + " operations to " + path();
  if (auto ok = begin(context); !ok) return ok;
  for (const StagedOp& op : batch) {
    if (auto ok = apply(op); !ok) return fail(abort(ok.error(), context));
  }
  return finish(context);
}

void SqliteRegistrationStore::commit_async(CommitDone done) {
  if (staged_.empty()) {
    thread_->post([done = std::move(done)] { return [done] { done(Status<StoreError>{}); }; });
    return;
  }
  thread_->post([this, batch = std::exchange(staged_, {}), done = std::move(done)]() -> StoreThread::Completion {
    Status<StoreError> status = write_batch(batch);
    return [done, status] { done(status); };
  });
}

Status<StoreError> SqliteRegistrationStore::commit() {
  if (staged_.empty()) return {};
  const std::vector<StagedOp> batch = std::exchange(staged_, {});
  return on_store_thread<Status<StoreError>>([&] { return write_batch(batch); });
}

// ---- reads and sweeps -----------------------------------------------------

Result<std::vector<Binding>, StoreError> SqliteRegistrationStore::load_unexpired(std::int64_t now) {
  using Rows = Result<std::vector<Binding>, StoreError>;
  return on_store_thread<Rows>([&]() -> Rows { return load_unexpired_here(now); });
}

Result<std::vector<Binding>, StoreError> SqliteRegistrationStore::load_unexpired_here(std::int64_t now) {
  Statement& s = statements_.load_unexpired;
  ScopedReset reset(s);
  s.bind(1, now);
  auto rows = collect<Binding>(s, read_binding);
  if (!rows) return fail(StoreError{rows.error().kind, "load_unexpired from " + path() + ": " + rows.error().message});
  return rows;
}

Result<std::vector<Binding>, StoreError> SqliteRegistrationStore::delete_expired(std::int64_t now) {
  using Rows = Result<std::vector<Binding>, StoreError>;
  return on_store_thread<Rows>([&]() -> Rows { return delete_expired_here(now); });
}

Result<std::vector<Binding>, StoreError> SqliteRegistrationStore::delete_expired_here(std::int64_t now) {
  const std::string context = "delete_expired in " + path();
  if (auto ok = begin(context); !ok) return fail(ok.error());
  {
    ScopedReset reset(statements_.audit_expired);
    statements_.audit_expired.bind(1, now);
    if (auto ok = statements_.audit_expired.run(); !ok) return fail(abort(ok.error(), context));
  }
  {
    ScopedReset reset(statements_.delete_expired_resolvers);
    statements_.delete_expired_resolvers.bind(1, now);
    if (auto ok = statements_.delete_expired_resolvers.run(); !ok) return fail(abort(ok.error(), context));
  }
  Result<std::vector<Binding>, StoreError> deleted = std::vector<Binding>{};
  {
    ScopedReset reset(statements_.delete_expired);
    statements_.delete_expired.bind(1, now);
    deleted = collect<Binding>(statements_.delete_expired, read_binding);
  }
  if (!deleted) return fail(abort(deleted.error(), context));
  if (auto ok = finish(context); !ok) return fail(ok.error());
  return deleted;
}

Result<std::vector<ResolverRecord>, StoreError> SqliteRegistrationStore::load_resolvers(std::int64_t now) {
  using Rows = Result<std::vector<ResolverRecord>, StoreError>;
  return on_store_thread<Rows>([&]() -> Rows {
    Statement& s = statements_.load_resolvers;
    ScopedReset reset(s);
    s.bind(1, now);
    return collect<ResolverRecord>(s, read_resolver);
  });
}

Result<std::size_t, StoreError> SqliteRegistrationStore::prune_audit(std::int64_t older_than) {
  using Count = Result<std::size_t, StoreError>;
  return on_store_thread<Count>([&]() -> Count { return prune_audit_here(older_than); });
}

Result<std::size_t, StoreError> SqliteRegistrationStore::prune_audit_here(std::int64_t older_than) {
  ScopedReset reset(statements_.prune_audit);
  statements_.prune_audit.bind(1, older_than);
  if (auto ok = statements_.prune_audit.run(); !ok) {
    return fail(StoreError{ok.error().kind, "prune_audit in " + path() + ": " + ok.error().message});
  }
  return static_cast<std::size_t>(connection_.changes());
}

void SqliteRegistrationStore::sweep_async(std::int64_t now, std::int64_t audit_older_than, SweepDone done) {
  thread_->post([this, now, audit_older_than, done = std::move(done)]() -> StoreThread::Completion {
    auto result = std::make_shared<SweepResult>();
    result->expired = delete_expired_here(now);
    result->audit_pruned = prune_audit_here(audit_older_than);
    return [done, result] { done(std::move(*result)); };
  });
}

Result<std::vector<AuditEvent>, StoreError> SqliteRegistrationStore::audit_events(const AuditQuery& query) {
  using Rows = Result<std::vector<AuditEvent>, StoreError>;
  return on_store_thread<Rows>([&]() -> Rows { return audit_events_here(query); });
}

Result<std::vector<AuditEvent>, StoreError> SqliteRegistrationStore::audit_events_here(const AuditQuery& query) {
  Statement& s = query.newest_first ? statements_.audit_newest_first : statements_.audit_oldest_first;
  ScopedReset reset(s);
  s.bind(1, query.since);
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  s.bind(2, static_cast<std::int64_t>(query.limit > max ? max : query.limit));
  return collect<AuditEvent>(s, read_audit);
}

Status<StoreError> SqliteRegistrationStore::integrity_check() {
  return on_store_thread<Status<StoreError>>([this] { return integrity_check_here(); });
}

Status<StoreError> SqliteRegistrationStore::integrity_check_here() {
  auto statement = connection_.prepare("PRAGMA integrity_check");
  if (!statement) return fail(statement.error());
  std::string findings;
  for (;;) {
    auto row = statement->step();
    if (!row) return fail(row.error());
    if (!row.value()) break;
    const std::string line = statement->column_text(0);
    if (line == "ok") continue;
    findings += findings.empty() ? line : "; " + line;
  }
  if (findings.empty()) return {};
  return fail(StoreError{StoreErrorKind::Corrupt, path() + ": integrity_check: " + findings});
}

}  // namespace advpnd::db
