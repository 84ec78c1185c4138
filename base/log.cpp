#include "base/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace advpnd::log {
namespace {
Level g_level = Level::Info;
Sink g_sink;

// syslog(3) priorities: LOG_DEBUG 7, LOG_INFO 6, LOG_WARNING 4, LOG_ERR 3.
int syslog_priority(Level level) {
  switch (level) {
    case Level::Debug:
      return 7;
    case Level::Info:
      return 6;
    case Level::Warning:
      return 4;
    case Level::Error:
      return 3;
  }
  return 6;
}

// True when stderr is connected to journald: systemd sets $JOURNAL_STREAM to
// "DEVICE:INODE" of that stream, and a match with stderr's own fstat() tells
// it was not merely inherited by a child whose stderr went elsewhere
// (systemd.exec(5), "$JOURNAL_STREAM").
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // NOLINT(concurrency-mt-unsafe): read once
  if (stream == nullptr) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat info {};
  if (::fstat(STDERR_FILENO, &info) != 0) return false;
  return static_cast<unsigned long long>(info.st_dev) == device &&
         static_cast<unsigned long long>(info.st_ino) == inode;
}
}  // namespace

std::string_view to_string(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

void set_level(Level new_level) { g_level = new_level; }
Level level() { return g_level; }
bool enabled(Level at) { return static_cast<int>(at) >= static_cast<int>(g_level); }
void set_sink(Sink sink) { g_sink = std::move(sink); }

void write(Level at, std::string_view component, std::string_view text) {
  if (!enabled(at, component)) return;
  if (g_sink) {
    g_sink(at, component, text);
    return;
  }
  // Under journald: "<N>component: text", the sd-daemon(3) priority prefix
  // that journald turns into the entry's PRIORITY=; it stamps the time itself.
  static const bool journal = stderr_is_journal();
  if (journal) {
    std::fprintf(stderr, "<%d>%.*s: %.*s\n", syslog_priority(at), static_cast<int>(component.size()), component.data(),
                 static_cast<int>(text.size()), text.data());
    return;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::fprintf(stderr, "%s.%03ldZ %-7.*s %.*s: %.*s\n", stamp, now.tv_nsec / 1000000,
               static_cast<int>(to_string(at).size()), to_string(at).data(), static_cast<int>(component.size()),
               component.data(), static_cast<int>(text.size()), text.data());
}

}  // namespace advpnd::log
