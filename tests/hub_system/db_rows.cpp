#include "tests/hub_system/db_rows.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <memory>
#include <span>

namespace advpnd::test {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

IpAddress column_address(sqlite3_stmt* stmt, int column) {
  const void* blob = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  if (blob == nullptr || size <= 0) return {};
  const auto address = IpAddress::from_bytes(
      std::span<const std::byte>(static_cast<const std::byte*>(blob), static_cast<std::size_t>(size)));
  REQUIRE_MESSAGE(address.has_value(), "address blob of " << size << " bytes in the binding table");
  return *address;
}

}  // namespace

std::vector<DbBinding> read_db_bindings(const std::string& path) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, CloseDb> db(raw);
  REQUIRE_MESSAGE(opened == SQLITE_OK, "open " << path << ": " << sqlite3_errstr(opened));
  sqlite3_busy_timeout(db.get(), 2000);

  sqlite3_stmt* raw_stmt = nullptr;
  const int prepared = sqlite3_prepare_v2(
      db.get(), "SELECT protocol_addr, prefix_len, nbma_addr, post_nat_nbma, holding_time FROM binding", -1, &raw_stmt,
      nullptr);
  std::unique_ptr<sqlite3_stmt, FinalizeStatement> stmt(raw_stmt);
  REQUIRE_MESSAGE(prepared == SQLITE_OK, "prepare: " << sqlite3_errmsg(db.get()));

  std::vector<DbBinding> rows;
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    rows.push_back(DbBinding{column_address(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1),
                             column_address(stmt.get(), 2), column_address(stmt.get(), 3),
                             sqlite3_column_int64(stmt.get(), 4)});
  }
  REQUIRE_MESSAGE(step == SQLITE_DONE, "reading " << path << ": " << sqlite3_errmsg(db.get()));
  return rows;
}

std::optional<DbBinding> find_db_binding(const std::vector<DbBinding>& rows, const IpAddress& protocol) {
  for (const DbBinding& row : rows) {
    if (row.protocol == protocol) return row;
  }
  return std::nullopt;
}

}  // namespace advpnd::test
