#include "app/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "platform/unique_fd.h"

namespace advpnd::app {
namespace {

std::string octal_mode(mode_t mode) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return text.data();
}

std::string errno_text(int error) { return std::strerror(error); }  // NOLINT(concurrency-mt-unsafe): start-up

}  // namespace

Result<std::string, std::string> read_secret_file(const std::string& path) {
  // The mode is checked on the descriptor that is then read (fstat), so the
  // file cannot be swapped between the check and the read.
  platform::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return fail(path + ": cannot open: " + errno_text(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return fail(path + ": cannot stat: " + errno_text(errno));
  if (!S_ISREG(info.st_mode)) return fail(path + ": not a regular file");
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(path + ": readable by group or others (mode " + octal_mode(info.st_mode) +
                "); a secret must be 0600 or 0400: chmod 600 " + path);
  }
  std::string contents;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(path + ": cannot read: " + errno_text(errno));
    if (got == 0) break;
    contents.append(buffer.data(), static_cast<std::size_t>(got));
  }
  return contents;
}

std::optional<std::string> credential_file(std::string_view name) {
  const char* directory = std::getenv("CREDENTIALS_DIRECTORY");  // NOLINT(concurrency-mt-unsafe): start-up
  if (directory == nullptr || *directory == '\0') return std::nullopt;
  std::string path = std::string(directory) + "/" + std::string(name);
  // Only the service user can read it; an unreadable one is left to
  // read_secret_file() to report.
  std::ifstream in(path);
  if (!in && ::access(path.c_str(), F_OK) != 0) return std::nullopt;
  if (!in) return path;
  for (char c = 0; in.get(c);) {
    if (c != '\n' && c != '\r') return path;
  }
  return std::nullopt;  // empty, or the units' "\n" fallback
}

}  // namespace advpnd::app
