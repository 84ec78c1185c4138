// SIGHUP on the spoke: what changed in the file is applied without touching
// working shortcuts or registrations — a new [[nhs]] gets its tunnel and
// registers, the Cisco password changes for what is sent and checked from
// now on, shortcut timers apply from their next use, the log level at once.
// Every other changed key (addresses, devices, sockets, the IPsec provider,
// a removed or changed [[nhs]]) is named in one warning: it needs a restart,
// and the running value is kept.
#pragma once

#include <string>
#include <vector>

#include "agent/spoke_agent.h"
#include "app/spoke_config.h"

namespace advpnd::app {

struct ReloadOutcome {
  std::vector<std::string> applied;          // "nhs 203.0.113.2 added", "authentication", "shortcut timers"
  std::vector<std::string> needing_restart;  // keys, as in the file
};

// Applies `reloaded` over `running` (which becomes what now runs).
ReloadOutcome reload_spoke(agent::SpokeAgent& agent, SpokeDaemonConfig& running, const SpokeDaemonConfig& reloaded);

}  // namespace advpnd::app
