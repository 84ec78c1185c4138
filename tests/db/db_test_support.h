// Helpers for the db tests: a temporary directory (mkdtemp, removed after), a
// small tmpfs mount (disk-full and read-only tests; unmounted in the
// destructor, so also when a REQUIRE fails), and sample bindings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/binding.h"

namespace advpnd::db::test {

class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A tmpfs of `size` bytes mounted on a fresh directory. Needs root (the tests
// run as root in CI); mounted() is false with a reason otherwise.
class TmpfsMount {
 public:
  explicit TmpfsMount(std::size_t size);
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount();

  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::string file(const std::string& name) const { return dir_.file(name); }
  // mount -o remount,ro / rw; false with error() set on failure.
  [[nodiscard]] bool remount(bool read_only);
  // Writes zeros to `name` until the file system is full; returns bytes written.
  std::size_t fill(const std::string& name);

 private:
  TempDir dir_;
  std::size_t size_;
  bool mounted_ = false;
  std::string error_;
};

[[nodiscard]] bool running_as_root();

// A distinct, valid binding for each i: IPv4 protocol address 10.x.y.z/32 (or
// IPv6 2001:db8::i/128 when v6), NBMA 198.18.x.y, post-NAT 203.0.113.x.
[[nodiscard]] Binding sample_binding(std::uint32_t i, std::int64_t expires_at, bool v6 = false);
[[nodiscard]] AuditEvent sample_event(std::int64_t at, AuditKind kind, std::uint32_t i);

// Bindings sorted by key: the stores return them in no particular order.
[[nodiscard]] std::vector<Binding> sorted(std::vector<Binding> bindings);

}  // namespace advpnd::db::test
