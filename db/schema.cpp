#include "db/schema.h"

#include <array>
#include <string>

namespace advpnd::db {
namespace {

// Version 1: bindings and audit (ARCHITECTURE.md "State that must survive").
// Addresses are BLOBs of 4 (IPv4) or 16 (IPv6) network-order bytes: the family
// follows the length, as on the wire (RFC 2332 5.2.0.1), and they compare
// byte-wise. An empty blob means "not known" where a column allows it.
// The key is (protocol_addr, prefix_len, nbma_addr); db/binding.h says why.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE binding (
  protocol_addr  BLOB    NOT NULL CHECK (length(protocol_addr) IN (4, 16)),
  prefix_len     INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 8 * length(protocol_addr)),
  nbma_addr      BLOB    NOT NULL CHECK (length(nbma_addr) IN (4, 16)),
  post_nat_nbma  BLOB    NOT NULL CHECK (length(post_nat_nbma) IN (0, 4, 16)),
  holding_time   INTEGER NOT NULL CHECK (holding_time BETWEEN 0 AND 65535),
  expires_at     INTEGER NOT NULL,  -- wall-clock unix seconds; expired iff <= now
  registered_at  INTEGER NOT NULL,  -- wall-clock unix seconds
  is_unique      INTEGER NOT NULL CHECK (is_unique IN (0, 1)),
  mtu            INTEGER NOT NULL CHECK (mtu BETWEEN 0 AND 65535),
  identity       TEXT    NOT NULL DEFAULT '',
  request_id     INTEGER NOT NULL CHECK (request_id BETWEEN 0 AND 4294967295),
  PRIMARY KEY (protocol_addr, prefix_len, nbma_addr)
) WITHOUT ROWID;
-- The expiry sweep (delete_expired) reads by expiry.
CREATE INDEX binding_expires_at ON binding (expires_at);

CREATE TABLE audit (
  id             INTEGER PRIMARY KEY,  -- insertion order among equal times
  at             INTEGER NOT NULL,     -- wall-clock unix seconds
  kind           TEXT    NOT NULL,     -- registered|refreshed|replaced|refused|expired|purged
  nbma_addr      BLOB    NOT NULL CHECK (length(nbma_addr) IN (0, 4, 16)),
  post_nat_nbma  BLOB    NOT NULL CHECK (length(post_nat_nbma) IN (0, 4, 16)),
  protocol_addr  BLOB    NOT NULL CHECK (length(protocol_addr) IN (0, 4, 16)),
  prefix_len     INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 128),
  reason         TEXT    NOT NULL DEFAULT ''
);
-- Retention (prune_audit) and advpnctl's "since" queries read by time.
CREATE INDEX audit_at ON audit (at, id);
)sql";

// Version 2: who resolved each binding (issue #10 item 6), so that a
// restarted hub still purges them when the binding goes. The first three
// columns are the binding's key; a resolver row outlives neither its binding
// (removed with it) nor its `until` (the sweep deletes it).
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE resolver (
  protocol_addr      BLOB    NOT NULL CHECK (length(protocol_addr) = 4 OR length(protocol_addr) = 16),
  prefix_len         INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 8 * length(protocol_addr)),
  nbma_addr          BLOB    NOT NULL CHECK (length(nbma_addr) = 4 OR length(nbma_addr) = 16),
  requester_nbma     BLOB    NOT NULL CHECK (length(requester_nbma) = 4 OR length(requester_nbma) = 16),
  requester_protocol BLOB    NOT NULL
                     CHECK (length(requester_protocol) = 0 OR length(requester_protocol) = 4 OR
                            length(requester_protocol) = 16),
  until              INTEGER NOT NULL,  -- unix seconds; the requester's copy expires then
  PRIMARY KEY (protocol_addr, prefix_len, nbma_addr, requester_nbma)
) WITHOUT ROWID;
CREATE INDEX resolver_until ON resolver (until);
)sql";

// Version 3: the same binding and audit tables with their length checks
// written as ORs. SQLite 3.40 evaluates `length(x) IN (4, 16)` in a CHECK by
// building an ephemeral index on every row written: measured, ~60% of the
// hub's instructions under a registration storm (callgrind), and 2.7x the
// time of the OR form for 200k inserts. A CHECK cannot be altered in place,
// so the tables are rebuilt (SQLite's "making other kinds of table schema
// changes", https://www.sqlite.org/lang_altertable.html section 7), rows and
// audit ids kept, inside the migration's transaction.
constexpr std::string_view kVersion3 = R"sql(
CREATE TABLE binding_v3 (
  protocol_addr  BLOB    NOT NULL CHECK (length(protocol_addr) = 4 OR length(protocol_addr) = 16),
  prefix_len     INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 8 * length(protocol_addr)),
  nbma_addr      BLOB    NOT NULL CHECK (length(nbma_addr) = 4 OR length(nbma_addr) = 16),
  post_nat_nbma  BLOB    NOT NULL
                 CHECK (length(post_nat_nbma) = 0 OR length(post_nat_nbma) = 4 OR length(post_nat_nbma) = 16),
  holding_time   INTEGER NOT NULL CHECK (holding_time BETWEEN 0 AND 65535),
  expires_at     INTEGER NOT NULL,  -- unix seconds; expired iff <= now
  registered_at  INTEGER NOT NULL,  -- unix seconds
  is_unique      INTEGER NOT NULL CHECK (is_unique BETWEEN 0 AND 1),
  mtu            INTEGER NOT NULL CHECK (mtu BETWEEN 0 AND 65535),
  identity       TEXT    NOT NULL DEFAULT '',
  request_id     INTEGER NOT NULL CHECK (request_id BETWEEN 0 AND 4294967295),
  PRIMARY KEY (protocol_addr, prefix_len, nbma_addr)
) WITHOUT ROWID;
INSERT INTO binding_v3 (protocol_addr, prefix_len, nbma_addr, post_nat_nbma, holding_time, expires_at,
                        registered_at, is_unique, mtu, identity, request_id)
  SELECT protocol_addr, prefix_len, nbma_addr, post_nat_nbma, holding_time, expires_at,
         registered_at, is_unique, mtu, identity, request_id FROM binding;
DROP TABLE binding;
ALTER TABLE binding_v3 RENAME TO binding;
CREATE INDEX binding_expires_at ON binding (expires_at);

CREATE TABLE audit_v3 (
  id             INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,
  kind           TEXT    NOT NULL,
  nbma_addr      BLOB    NOT NULL
                 CHECK (length(nbma_addr) = 0 OR length(nbma_addr) = 4 OR length(nbma_addr) = 16),
  post_nat_nbma  BLOB    NOT NULL
                 CHECK (length(post_nat_nbma) = 0 OR length(post_nat_nbma) = 4 OR length(post_nat_nbma) = 16),
  protocol_addr  BLOB    NOT NULL
                 CHECK (length(protocol_addr) = 0 OR length(protocol_addr) = 4 OR length(protocol_addr) = 16),
  prefix_len     INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 128),
  reason         TEXT    NOT NULL DEFAULT ''
);
INSERT INTO audit_v3 (id, at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len, reason)
  SELECT id, at, kind, nbma_addr, post_nat_nbma, protocol_addr, prefix_len, reason FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v3 RENAME TO audit;
CREATE INDEX audit_at ON audit (at, id);
)sql";

constexpr std::array kMigrations{
    Migration{1, "bindings and audit", kVersion1},
    Migration{2, "resolvers", kVersion2},
    Migration{3, "length checks without IN", kVersion3},
};

Status<StoreError> refuse(Connection& connection, StoreErrorKind kind, std::string message) {
  (void)connection.rollback();  // we changed nothing; a failed rollback changes nothing either
  return fail(StoreError{kind, std::move(message)});
}

Status<StoreError> abort_with(Connection& connection, StoreError error) {
  (void)connection.rollback();
  return fail(std::move(error));
}

// The file must be ours, and not newer than `latest`. Runs inside the
// migration transaction (or before it, as a quick read-only check).
Status<StoreError> check_file(Connection& connection, std::int64_t version, std::int64_t latest) {
  auto application = connection.query_int("PRAGMA application_id");
  if (!application) return abort_with(connection, application.error());
  if (application.value() != 0 && application.value() != kApplicationId) {
    return refuse(connection, StoreErrorKind::Other,
                  "not an advpnd database (application_id " + std::to_string(application.value()) + ")");
  }
  if (version > latest) {
    return refuse(connection, StoreErrorKind::SchemaTooNew,
                  "database schema version " + std::to_string(version) + " is newer than this advpnd knows (" +
                      std::to_string(latest) +
                      "); refusing to open it. Run the newer advpnd, or restore a backup made by this version.");
  }
  if (version == 0) {
    auto tables = connection.query_int("SELECT count(*) FROM sqlite_schema");
    if (!tables) return abort_with(connection, tables.error());
    if (tables.value() != 0) {
      return refuse(connection, StoreErrorKind::Other,
                    "has " + std::to_string(tables.value()) +
                        " schema objects but no advpnd schema version: not an advpnd database");
    }
  }
  return {};
}

Status<StoreError> apply_step(Connection& connection, const Migration& step) {
  const std::string context =
      "migration to schema version " + std::to_string(step.version) + " (" + std::string(step.description) + ")";
  auto with_context = [&](const StoreError& error) {
    return abort_with(connection, StoreError{error.kind, context + ": " + error.message});
  };
  if (auto ran = connection.exec(step.sql); !ran) return with_context(ran.error());
  // PRAGMAs take no bound parameters; both values are integers we format.
  const std::string bump = "PRAGMA user_version = " + std::to_string(step.version) +
                           "; PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
  if (auto ran = connection.exec(bump); !ran) return with_context(ran.error());
  if (auto ran = connection.exec("COMMIT"); !ran) return with_context(ran.error());
  return {};
}

}  // namespace

std::span<const Migration> schema_migrations() { return kMigrations; }

std::int64_t latest_schema_version() { return kMigrations.back().version; }

Status<StoreError> migrate(Connection& connection, std::span<const Migration> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<std::int64_t>(i) + 1) {
      return fail(StoreError{StoreErrorKind::Other, "migration list is not numbered 1, 2, 3, ..."});
    }
  }
  const auto latest = static_cast<std::int64_t>(steps.size());

  // A quick look without the write lock, so that a newer or foreign file is
  // refused even where we could not take the lock (read-only media).
  auto version = connection.query_int("PRAGMA user_version");
  if (!version) return fail(version.error());
  if (auto ok = check_file(connection, version.value(), latest); !ok) return ok;

  for (;;) {
    // IMMEDIATE: take the write lock before reading the version, so two
    // processes opening the same file cannot both run a step.
    if (auto begun = connection.exec("BEGIN IMMEDIATE"); !begun) return begun;
    version = connection.query_int("PRAGMA user_version");
    if (!version) return abort_with(connection, version.error());
    if (auto ok = check_file(connection, version.value(), latest); !ok) return ok;
    if (version.value() == latest) {
      if (auto done = connection.exec("COMMIT"); !done) return abort_with(connection, done.error());
      return {};
    }
    if (auto stepped = apply_step(connection, steps[static_cast<std::size_t>(version.value())]); !stepped) {
      return stepped;
    }
  }
}

}  // namespace advpnd::db
