// One log line per event, naming the component and the peer (STYLE.md).
// Lines go to a sink (stderr by default; tests capture them). Levels: the
// default, info, has no per-packet lines; debug does.
// On stderr a line is "TIME LEVEL component: text"; when stderr is journald's
// stream ($JOURNAL_STREAM matches it, as under systemd) it is
// "<N>component: text" with N the syslog priority (debug 7, info 6,
// warning 4, error 3), which journald files as the entry's PRIORITY.
//
// Categories: the component a line names ("nhs", "shortcut", ...) can get
// its own level at run time (`advpnctl debug nhs on`), which wins over the
// global level for that component; clear_component_levels() goes back to
// the global level for all.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace advpnd::log {

enum class Level : int { Debug = 0, Info = 1, Warning = 2, Error = 3 };

[[nodiscard]] std::string_view to_string(Level level);

void set_level(Level level);
[[nodiscard]] Level level();
[[nodiscard]] bool enabled(Level level);
// At `level`, is a line of `component` written? (its own level, else the global one)
[[nodiscard]] bool enabled(Level level, std::string_view component);

void set_component_level(std::string_view component, Level level);
void clear_component_level(std::string_view component);
void clear_component_levels();
// The components with their own level, and that level.
[[nodiscard]] std::vector<std::pair<std::string, Level>> component_levels();

// Replaces where lines go; an empty function restores stderr.
using Sink = std::function<void(Level, std::string_view component, std::string_view text)>;
void set_sink(Sink sink);

void write(Level level, std::string_view component, std::string_view text);

inline void debug(std::string_view component, const std::string& text) {
  if (enabled(Level::Debug, component)) write(Level::Debug, component, text);
}
inline void info(std::string_view component, const std::string& text) { write(Level::Info, component, text); }
inline void warning(std::string_view component, const std::string& text) { write(Level::Warning, component, text); }
inline void error(std::string_view component, const std::string& text) { write(Level::Error, component, text); }

}  // namespace advpnd::log
