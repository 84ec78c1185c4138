// What `advpnctl` can ask a hub: the commands, and how their answers look
// (a human table by default, JSON with --json).
//
//   show registrations [--json]
//   show stats [--json]
//   clear registration ADDR
#pragma once

#include <string_view>

#include "app/control_server.h"
#include "base/nbma_transport.h"
#include "dataplane/hub_dataplane.h"
#include "hub/next_hop_server.h"

namespace advpnd::app {

// `transport` (may be null): its counters go into `show stats`, since frames
// it drops (GRE that does not parse, a wrong GRE key) never reach the NHS.
[[nodiscard]] ControlReply hub_control(hub::NextHopServer& nhs, std::string_view command,
                                       const NbmaTransport* transport = nullptr,
                                       const dataplane::HubDataplane* dataplane = nullptr);

}  // namespace advpnd::app
