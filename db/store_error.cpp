#include "db/store_error.h"

#include <sqlite3.h>

namespace advpnd::db {

std::string_view to_string(StoreErrorKind kind) {
  switch (kind) {
    case StoreErrorKind::DiskFull:
      return "DiskFull";
    case StoreErrorKind::ReadOnly:
      return "ReadOnly";
    case StoreErrorKind::Busy:
      return "Busy";
    case StoreErrorKind::Corrupt:
      return "Corrupt";
    case StoreErrorKind::SchemaTooNew:
      return "SchemaTooNew";
    case StoreErrorKind::Io:
      return "Io";
    case StoreErrorKind::Invalid:
      return "Invalid";
    case StoreErrorKind::Other:
      return "Other";
  }
  return "Unknown";
}

std::string StoreError::to_string() const {
  std::string out(db::to_string(kind));
  out += ": ";
  out += message;
  return out;
}

// Hub issue: "map SQLITE_FULL, SQLITE_READONLY, SQLITE_BUSY/LOCKED,
// SQLITE_CORRUPT/NOTADB, SQLITE_IOERR". Extended codes carry the primary
// code in their low byte.
StoreErrorKind kind_from_sqlite(int result_code) {
  switch (result_code & 0xff) {
    case SQLITE_FULL:
      return StoreErrorKind::DiskFull;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return StoreErrorKind::ReadOnly;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreErrorKind::Busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreErrorKind::Corrupt;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return StoreErrorKind::Io;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return StoreErrorKind::Invalid;
    default:
      return StoreErrorKind::Other;
  }
}

}  // namespace advpnd::db
