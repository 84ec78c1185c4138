// What `advpnctl` can ask a spoke (a human table by default, JSON with --json):
//
//   show nhs [--json]        each NHS: state, last reply, next refresh, failures
//   show shortcuts [--json]  state, peer NBMA, prefix, age, idle time, bytes in/out
//   show stats [--json]      NHRP packets by type, errors by reason, shortcut,
//                            transport and dataplane counters (drops by reason)
//   clear shortcut [PEER]    close every shortcut, or those to PEER (make before
//                            break in reverse: the hub path first, then the tunnel down)
//   debug [CATEGORY on|off]  app/debug_control.h
#pragma once

#include <string_view>

#include "agent/spoke_agent.h"
#include "app/control_server.h"
#include "base/nbma_transport.h"
#include "dataplane/spoke_dataplane.h"

namespace advpnd::app {

// What the answers read; `transport` and `dataplane` may be null (tests).
struct SpokeParts {
  agent::SpokeAgent& agent;
  const NbmaTransport* transport = nullptr;
  const dataplane::SpokeDataplane* dataplane = nullptr;
};

[[nodiscard]] ControlReply spoke_control(const SpokeParts& parts, std::string_view command);

}  // namespace advpnd::app
