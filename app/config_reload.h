// What SIGHUP compares: every key of a config file with its value as
// written ("hub.gre_key" -> "42", "nhs[1].nbma_address" -> "'203.0.113.2'"),
// so that a daemon can name each changed key it cannot apply without a
// restart, instead of ignoring it silently.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace advpnd::app {

using ConfigValues = std::map<std::string, std::string>;

// Keys added, removed or changed between two loads of a file, sorted.
[[nodiscard]] std::vector<std::string> changed_keys(const ConfigValues& running, const ConfigValues& reloaded);

// The keys none of `applied` matches: an entry matches its own key, and an
// entry ending in '.' or '[' every key of that table ("shortcuts.", "nhs[").
[[nodiscard]] std::vector<std::string> needing_restart(const std::vector<std::string>& changed,
                                                       std::span<const std::string_view> applied);

// "SIGHUP: hub.gre_key, store.synchronous changed but need a restart: the running values are kept"
[[nodiscard]] std::string restart_warning(const std::vector<std::string>& keys);

}  // namespace advpnd::app
