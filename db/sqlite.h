// Small RAII wrappers over the raw sqlite3 C API (hub issue: "Use the raw
// sqlite3 C API with small RAII wrappers (Connection, Statement) — checked, no
// exceptions"). Every call that can fail returns a Result/Status carrying a
// StoreError whose message holds SQLite's own text.
//
// Lifetime: statements must be destroyed before their connection (declare the
// Connection member first). Both are move-only and used by one thread.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/ip_address.h"
#include "base/result.h"
#include "db/store_error.h"

namespace advpnd::db {

// "context: SQLite's message [code N, errno E]", kind from the result code.
[[nodiscard]] StoreError sqlite_error(sqlite3* db, int result_code, std::string_view context);

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds take 1-based parameter indexes. A failed bind is remembered and
  // reported by the next step(), so a sequence of binds needs one check.
  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view text);
  // An address as a BLOB of its 0, 4 or 16 network-order bytes (0: empty blob, not NULL).
  void bind(int index, const IpAddress& address);

  // true: a row is ready to read; false: the statement has finished.
  [[nodiscard]] Result<bool, StoreError> step();
  // Steps until the statement finishes, ignoring any rows.
  [[nodiscard]] Status<StoreError> run();
  // Back to the start with no bindings, ready for the next use. Never fails in
  // a way that matters: the error of the last step() was already reported.
  void reset();

  [[nodiscard]] std::int64_t column_int64(int column) const;
  [[nodiscard]] std::string column_text(int column) const;
  // nullopt when the blob is not 0, 4 or 16 bytes long (a corrupt row).
  [[nodiscard]] std::optional<IpAddress> column_address(int column) const;

  [[nodiscard]] sqlite3_stmt* handle() const { return stmt_; }

 private:
  void note_bind(int rc);

  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = SQLITE_OK;
};

// Resets a statement when the scope ends, on success and on every error path,
// so that a cached statement never keeps a read transaction open and is always
// reusable after a failure (hub issue: "keep prepared statements usable").
class ScopedReset {
 public:
  explicit ScopedReset(Statement& statement) : statement_(statement) {}
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;
  ~ScopedReset() { statement_.reset(); }

 private:
  Statement& statement_;
};

class Connection {
 public:
  enum class Mode : std::uint8_t { ReadWriteCreate, ReadWrite, ReadOnly };

  [[nodiscard]] static Result<Connection, StoreError> open(const std::string& path, Mode mode);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more ';'-separated statements, ignoring their rows.
  [[nodiscard]] Status<StoreError> exec(std::string_view sql);
  // persistent: the statement is cached for the life of the connection
  // (SQLITE_PREPARE_PERSISTENT); use it for the statements a store keeps.
  [[nodiscard]] Result<Statement, StoreError> prepare(std::string_view sql, bool persistent = false);
  // First column of the first row of a one-row query (PRAGMA user_version, ...).
  [[nodiscard]] Result<std::int64_t, StoreError> query_int(std::string_view sql);
  [[nodiscard]] Result<std::string, StoreError> query_text(std::string_view sql);

  [[nodiscard]] Status<StoreError> set_busy_timeout(std::chrono::milliseconds timeout);
  // ROLLBACK if a transaction is open (SQLite may already have rolled back by
  // itself after SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or SQLITE_NOMEM).
  [[nodiscard]] Status<StoreError> rollback();
  // True between BEGIN and COMMIT/ROLLBACK (including when SQLite did not roll
  // back by itself after an error).
  [[nodiscard]] bool in_transaction() const;
  // True when SQLite could only open the file for reading (no write
  // permission, read-only file system): it falls back silently.
  [[nodiscard]] bool read_only() const;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  [[nodiscard]] std::int64_t changes() const;

  [[nodiscard]] StoreError error(int result_code, std::string_view context) const;
  [[nodiscard]] sqlite3* handle() const { return db_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace advpnd::db
