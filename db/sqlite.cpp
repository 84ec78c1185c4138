#include "db/sqlite.h"

#include <cstring>
#include <limits>
#include <span>
#include <utility>

namespace advpnd::db {

StoreError sqlite_error(sqlite3* db, int result_code, std::string_view context) {
  std::string message(context);
  message += ": ";
  // sqlite3_errmsg describes the most recent failure on this connection; the
  // result code is what we were handed, so both are reported.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(result_code);
  message += " [code ";
  message += std::to_string(result_code);
  const int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  const int primary = result_code & 0xff;
  if (system_errno != 0 && (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN)) {
    message += ", errno ";
    message += std::to_string(system_errno);
    message += " ";
    message += std::strerror(system_errno);  // NOLINT(concurrency-mt-unsafe): one thread
  }
  message += "]";
  return StoreError{kind_from_sqlite(result_code), std::move(message)};
}

namespace {
// Built by appending rather than with `"\"" + std::string(sql) + ...`: g++-12
// at -O3 inlines that operator+ chain and reports a false -Wrestrict overlap
// inside char_traits::copy (GCC bug 105329), which broke -Werror builds.
StoreError no_row_error(std::string_view sql) {
  std::string message;
  message.reserve(sql.size() + 20);
  message.append("\"").append(sql).append("\" returned no row");
  return StoreError{StoreErrorKind::Other, std::move(message)};
}
}  // namespace

// ---- Statement ------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_rc_ = other.bind_rc_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::bind(int index, std::int64_t value) { note_bind(sqlite3_bind_int64(stmt_, index, value)); }

void Statement::bind(int index, std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    note_bind(SQLITE_TOOBIG);
    return;
  }
  // SQLITE_TRANSIENT: SQLite copies the text; the caller's buffer may go away.
  note_bind(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
}

void Statement::bind(int index, const IpAddress& address) {
  if (address.empty()) {
    // A NULL pointer would bind SQL NULL; an empty address is an empty blob.
    note_bind(sqlite3_bind_zeroblob(stmt_, index, 0));
    return;
  }
  const auto bytes = address.bytes();
  note_bind(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
}

Result<bool, StoreError> Statement::step() {
  sqlite3* db = sqlite3_db_handle(stmt_);
  if (bind_rc_ != SQLITE_OK) {
    const int rc = std::exchange(bind_rc_, SQLITE_OK);
    return fail(sqlite_error(db, rc, std::string("bind for \"") + sqlite3_sql(stmt_) + "\""));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(sqlite_error(db, rc, std::string("\"") + sqlite3_sql(stmt_) + "\""));
}

Status<StoreError> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return fail(row.error());
    if (!row.value()) return {};
  }
}

void Statement::reset() {
  // sqlite3_reset returns the error of the last step, which was reported then.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

std::int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr || size <= 0) return {};
  // sqlite3 hands text out as unsigned char; std::string wants char.
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};  // NOLINT
}

std::optional<IpAddress> Statement::column_address(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (size == 0) return IpAddress{};
  if (blob == nullptr || size < 0) return std::nullopt;
  return IpAddress::from_bytes(std::span(static_cast<const std::byte*>(blob), static_cast<std::size_t>(size)));
}

// ---- Connection -----------------------------------------------------------

Result<Connection, StoreError> Connection::open(const std::string& path, Mode mode) {
  // NOMUTEX: each connection is used by one thread (the hub's event loop).
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case Mode::ReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
    case Mode::ReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::ReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    // Even on failure SQLite usually hands back a handle that holds the message.
    StoreError error = sqlite_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return fail(std::move(error));
  }
  sqlite3_extended_result_codes(db, 1);
  return Connection(db, path);
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

// close_v2: if a statement outlived us by mistake, the handle becomes a zombie
// that is closed with the last statement instead of leaking or failing.
Connection::~Connection() { sqlite3_close_v2(db_); }

Status<StoreError> Connection::exec(std::string_view sql) {
  while (!sql.empty()) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &raw, &tail);
    if (rc != SQLITE_OK) return fail(error(rc, "prepare \"" + std::string(sql.substr(0, 80)) + "\""));
    sql.remove_prefix(static_cast<std::size_t>(tail - sql.data()));
    if (raw == nullptr) continue;  // whitespace or a comment
    Statement statement(raw);
    if (auto ran = statement.run(); !ran) return ran;
  }
  return {};
}

Result<Statement, StoreError> Connection::prepare(std::string_view sql, bool persistent) {
  sqlite3_stmt* raw = nullptr;
  const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0U;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &raw, nullptr);
  if (rc != SQLITE_OK) return fail(error(rc, "prepare \"" + std::string(sql) + "\""));
  if (raw == nullptr) return fail(StoreError{StoreErrorKind::Other, "prepare: empty statement"});
  return Statement(raw);
}

Result<std::int64_t, StoreError> Connection::query_int(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement) return fail(statement.error());
  auto row = statement->step();
  if (!row) return fail(row.error());
  if (!row.value()) return fail(no_row_error(sql));
  return statement->column_int64(0);
}

Result<std::string, StoreError> Connection::query_text(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement) return fail(statement.error());
  auto row = statement->step();
  if (!row) return fail(row.error());
  if (!row.value()) return fail(no_row_error(sql));
  return statement->column_text(0);
}

Status<StoreError> Connection::set_busy_timeout(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count() > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                                    : static_cast<int>(timeout.count());
  if (const int rc = sqlite3_busy_timeout(db_, ms); rc != SQLITE_OK) return fail(error(rc, "busy_timeout"));
  return {};
}

Status<StoreError> Connection::rollback() {
  if (!in_transaction()) return {};
  return exec("ROLLBACK");
}

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool Connection::read_only() const { return sqlite3_db_readonly(db_, "main") == 1; }

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }

StoreError Connection::error(int result_code, std::string_view context) const {
  return sqlite_error(db_, result_code, context);
}

}  // namespace advpnd::db
