// StoreError: why a store operation failed, as a value (STYLE.md "errors are
// values"; hub issue: "never throw exceptions across the API").
//
// The kind is what the hub acts on: a failed commit() means every request of
// that batch is answered with NHRP code 5 (RFC 2332 5.2.2 "insufficient
// resources"); the message carries SQLite's own text for the operator's log.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace advpnd::db {

enum class StoreErrorKind : std::uint8_t {
  DiskFull,      // SQLITE_FULL: no space left for the WAL or the database file
  ReadOnly,      // SQLITE_READONLY / SQLITE_PERM: the file or medium cannot be written
  Busy,          // SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock past busy_timeout
  Corrupt,       // SQLITE_CORRUPT / SQLITE_NOTADB, or a row that does not decode
  SchemaTooNew,  // PRAGMA user_version is newer than this build knows: refuse to open
  Io,            // SQLITE_IOERR / SQLITE_CANTOPEN: the OS refused a read, write, sync or open
  Invalid,       // a binding or audit event that violates the contract (checked at stage time)
  Other,         // any other SQLite result code (message says which)
};

[[nodiscard]] std::string_view to_string(StoreErrorKind kind);

struct StoreError {
  StoreErrorKind kind = StoreErrorKind::Other;
  std::string message;

  // "DiskFull: commit: database or disk is full (SQLITE_FULL, errno 28)"
  [[nodiscard]] std::string to_string() const;
};

// Maps a SQLite result code (primary or extended) to a kind.
[[nodiscard]] StoreErrorKind kind_from_sqlite(int result_code);

}  // namespace advpnd::db
