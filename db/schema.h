// The hub database's schema and its migrations (hub issue: "versioned schema
// with migrations (PRAGMA user_version, an ordered list of migration steps
// applied in one transaction each; refuse to open a file whose version is
// newer than we know, with a clear error)").
//
// Adding a schema change: append a Migration whose version is the previous
// last + 1 and whose SQL takes a database at the previous version to the new
// one. Never edit a step that has shipped: files in the field are at it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "db/sqlite.h"
#include "db/store_error.h"

namespace advpnd::db {

struct Migration {
  std::int64_t version = 0;  // PRAGMA user_version once this step has run
  std::string_view description;
  std::string_view sql;  // one or more statements
};

// Marks a file as advpnd's ("ADVP"); a file with another application_id is refused.
inline constexpr std::int64_t kApplicationId = 0x41445650;

// The steps this build knows, in order; the last one's version is the newest.
[[nodiscard]] std::span<const Migration> schema_migrations();
[[nodiscard]] std::int64_t latest_schema_version();

// Brings the file up to the last step of `steps`. Each pending step runs in
// its own BEGIN IMMEDIATE transaction together with the user_version bump, so
// a crash or an error leaves the file at the previous version, never half-way.
// Refuses (nothing changed) a file whose user_version is newer than the last
// step (SchemaTooNew), a file of another application, and a version-0 file
// that already has tables (not ours). `steps` must be numbered 1, 2, 3, ...
[[nodiscard]] Status<StoreError> migrate(Connection& connection,
                                         std::span<const Migration> steps = schema_migrations());

}  // namespace advpnd::db
