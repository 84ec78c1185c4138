#include "app/config_reload.h"

#include <algorithm>

namespace advpnd::app {

std::vector<std::string> changed_keys(const ConfigValues& running, const ConfigValues& reloaded) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : running) {
    const auto it = reloaded.find(key);
    if (it == reloaded.end() || it->second != value) keys.push_back(key);
  }
  for (const auto& [key, value] : reloaded) {
    if (!running.contains(key)) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> needing_restart(const std::vector<std::string>& changed,
                                         std::span<const std::string_view> applied) {
  std::vector<std::string> out;
  for (const std::string& key : changed) {
    const bool handled = std::any_of(applied.begin(), applied.end(), [&](std::string_view entry) {
      const bool whole_table = !entry.empty() && (entry.back() == '.' || entry.back() == '[');
      return whole_table ? key.rfind(entry, 0) == 0 : key == entry;
    });
    if (!handled) out.push_back(key);
  }
  return out;
}

std::string restart_warning(const std::vector<std::string>& keys) {
  std::string names;
  for (const std::string& key : keys) names += (names.empty() ? "" : ", ") + key;
  const bool one = keys.size() == 1;
  return "SIGHUP: " + names + " changed but need" + (one ? "s" : "") + " a restart: the running value" +
         (one ? " is" : "s are") + " kept";
}

}  // namespace advpnd::app
