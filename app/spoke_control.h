// What `advpnctl` can ask a spoke (a human table by default, JSON with --json):
//
//   show nhs [--json]        each NHS: state, last reply, next refresh, failures
//   show shortcuts [--json]  state, peer NBMA, prefix, age, idle time, bytes in/out
//   show stats [--json]      NHRP packets by type, errors by reason, shortcut counters
#pragma once

#include <string_view>

#include "agent/spoke_agent.h"
#include "app/control_server.h"

namespace advpnd::app {

[[nodiscard]] ControlReply spoke_control(agent::SpokeAgent& agent, std::string_view command);

}  // namespace advpnd::app
