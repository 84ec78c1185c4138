// The hub's SQLite file as a test reads it: opened read-only with the raw
// sqlite3 API while the daemon may still be running (WAL lets a reader see
// every committed transaction), so the test checks what is on disk, not
// what the daemon says about it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip_address.h"

namespace advpnd::test {

struct DbBinding {
  IpAddress protocol;
  std::int64_t prefix_len = 0;
  IpAddress nbma;
  IpAddress post_nat_nbma;
  std::int64_t holding_time = 0;
};

// Every row of the binding table (db/schema.cpp); REQUIREs a readable file.
[[nodiscard]] std::vector<DbBinding> read_db_bindings(const std::string& path);
// The row of `protocol`, if any.
[[nodiscard]] std::optional<DbBinding> find_db_binding(const std::vector<DbBinding>& rows, const IpAddress& protocol);

}  // namespace advpnd::test
