#include "app/spoke_reload.h"

#include <algorithm>

#include "app/config_reload.h"

namespace advpnd::app {
namespace {

const spoke::NhsEntry* find_nhs(const std::vector<spoke::NhsEntry>& servers, const IpAddress& nbma) {
  const auto it = std::find_if(servers.begin(), servers.end(), [&](const auto& s) { return s.nbma == nbma; });
  return it == servers.end() ? nullptr : &*it;
}

// Adds the new NHSs; names the removed or changed ones (they need a restart).
void reload_servers(agent::SpokeAgent& agent, SpokeDaemonConfig& running, const SpokeDaemonConfig& reloaded,
                    ReloadOutcome& out) {
  std::vector<spoke::NhsEntry>& now = running.agent.nhc.servers;
  for (std::size_t i = 0; i < now.size(); ++i) {
    const spoke::NhsEntry* next = find_nhs(reloaded.agent.nhc.servers, now[i].nbma);
    if (next == nullptr || next->protocol != now[i].protocol || next->priority != now[i].priority) {
      out.needing_restart.push_back("nhs[" + std::to_string(i) + "] (" + now[i].nbma.to_string() + ")");
    }
  }
  for (const spoke::NhsEntry& entry : reloaded.agent.nhc.servers) {
    if (find_nhs(now, entry.nbma) != nullptr) continue;
    if (auto added = agent.add_nhs(entry); !added) {
      out.needing_restart.push_back("nhs " + entry.nbma.to_string() + " (" + added.error() + ")");
      continue;
    }
    now.push_back(entry);
    out.applied.push_back("NHS " + entry.nbma.to_string() + " added");
  }
}

}  // namespace

ReloadOutcome reload_spoke(agent::SpokeAgent& agent, SpokeDaemonConfig& running, const SpokeDaemonConfig& reloaded) {
  ReloadOutcome out;
  const std::vector<std::string> changed = changed_keys(running.values, reloaded.values);
  out.needing_restart = needing_restart(changed, kSpokeReloadable);
  reload_servers(agent, running, reloaded, out);

  if (running.agent.nhc.auth_password != reloaded.agent.nhc.auth_password) {
    agent.nhc().set_auth_password(reloaded.agent.nhc.auth_password);
    running.agent.nhc.auth_password = reloaded.agent.nhc.auth_password;
    out.applied.emplace_back("authentication password");
  }
  if (std::any_of(changed.begin(), changed.end(), [](const auto& key) { return key.rfind("shortcuts.", 0) == 0; })) {
    agent.shortcuts().reconfigure(reloaded.agent.shortcuts);
    running.agent.shortcuts = reloaded.agent.shortcuts;
    out.applied.emplace_back("shortcut timers");
  }
  running.log_level = reloaded.log_level;
  // What runs now: the new value of every key applied, the old one of the rest.
  for (const std::string& key : changed) {
    const bool kept =
        std::find(out.needing_restart.begin(), out.needing_restart.end(), key) != out.needing_restart.end();
    if (kept) continue;
    if (auto it = reloaded.values.find(key); it != reloaded.values.end()) {
      running.values[key] = it->second;
    } else {
      running.values.erase(key);
    }
  }
  return out;
}

}  // namespace advpnd::app
