#include "tests/db/db_test_support.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace advpnd::db::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "advpnd-db-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    // A test harness failure, not a store error: stop loudly.
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TmpfsMount::TmpfsMount(std::size_t size) : size_(size) {
  if (!running_as_root()) {
    error_ = "not root: cannot mount a tmpfs";
    return;
  }
  const std::string options = "size=" + std::to_string(size_);
  if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
    error_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  if (!mounted_) return;
  // A file still open (a store the test leaked) makes a plain umount fail
  // with EBUSY; detach then, so the directory is never left mounted.
  if (::umount2(dir_.path().c_str(), 0) != 0) ::umount2(dir_.path().c_str(), MNT_DETACH);
}

bool TmpfsMount::remount(bool read_only) {
  const std::string options = "size=" + std::to_string(size_);
  unsigned long flags = MS_REMOUNT;
  if (read_only) flags |= MS_RDONLY;
  if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", flags, options.c_str()) != 0) {
    error_ = std::string("remount: ") + std::strerror(errno);
    return false;
  }
  return true;
}

std::size_t TmpfsMount::fill(const std::string& name) {
  const int fd = ::open(file(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  // tmpfs allocates whole pages: page-sized writes until ENOSPC leave no page free.
  const std::array<char, 4096> zeros{};
  std::size_t written = 0;
  for (;;) {
    const ssize_t n = ::write(fd, zeros.data(), zeros.size());
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return written;
}

bool running_as_root() { return ::geteuid() == 0; }

Binding sample_binding(std::uint32_t i, std::int64_t expires_at, bool v6) {
  Binding b;
  if (v6) {
    auto address = IpAddress::parse("2001:db8::" + std::to_string(i % 0xffff));
    b.key.protocol = address.value_or(IpAddress{});
    b.key.prefix_len = 128;
  } else {
    b.key.protocol = IpAddress::v4(0x0a000000U + i);
    b.key.prefix_len = 32;
  }
  b.key.nbma = IpAddress::v4(0xc6120000U + (i & 0xffffU));     // 198.18.0.0/16
  b.post_nat_nbma = IpAddress::v4(0xcb007100U + (i & 0xffU));  // 203.0.113.0/24
  b.holding_time_s = 7200;
  b.expires_at = expires_at;
  b.registered_at = expires_at - 7200;
  b.unique = (i % 2) == 0;
  b.mtu = 1400;
  b.identity = "spoke-" + std::to_string(i) + ".example.net";
  b.request_id = 0x10000U + i;
  return b;
}

AuditEvent sample_event(std::int64_t at, AuditKind kind, std::uint32_t i) {
  const Binding b = sample_binding(i, at + 7200);
  return AuditEvent{
      at, kind, b.key.nbma, b.post_nat_nbma, b.key.protocol, b.key.prefix_len, "event " + std::to_string(i)};
}

std::vector<Binding> sorted(std::vector<Binding> bindings) {
  std::sort(bindings.begin(), bindings.end(), [](const Binding& a, const Binding& b) { return a.key < b.key; });
  return bindings;
}

}  // namespace advpnd::db::test
