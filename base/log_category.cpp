// Per-component log levels (base/log.h "Categories"): the switch behind
// `advpnctl debug CATEGORY on|off`. Kept apart from log.cpp, which owns the
// line format.
#include "base/log.h"

namespace advpnd::log {
namespace {
// Few entries (one per category an operator switched): a vector is enough,
// and an empty one keeps the per-packet check to one branch.
std::vector<std::pair<std::string, Level>> g_component_levels;

std::vector<std::pair<std::string, Level>>::iterator find_component(std::string_view component) {
  auto it = g_component_levels.begin();
  while (it != g_component_levels.end() && it->first != component) ++it;
  return it;
}
}  // namespace

bool enabled(Level at, std::string_view component) {
  if (g_component_levels.empty()) return enabled(at);
  const auto it = find_component(component);
  if (it == g_component_levels.end()) return enabled(at);
  return static_cast<int>(at) >= static_cast<int>(it->second);
}

void set_component_level(std::string_view component, Level at) {
  const auto it = find_component(component);
  if (it != g_component_levels.end()) {
    it->second = at;
  } else {
    g_component_levels.emplace_back(std::string(component), at);
  }
}

void clear_component_level(std::string_view component) {
  const auto it = find_component(component);
  if (it != g_component_levels.end()) g_component_levels.erase(it);
}

void clear_component_levels() { g_component_levels.clear(); }

std::vector<std::pair<std::string, Level>> component_levels() { return g_component_levels; }

}  // namespace advpnd::log
