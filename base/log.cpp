#include "base/log.h"

#include <cstdio>
#include <ctime>

namespace advpnd::log {
namespace {
Level g_level = Level::Info;
Sink g_sink;
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
