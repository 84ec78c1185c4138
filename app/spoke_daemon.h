// `advpnd spoke --config FILE`: the spoke daemon. Wires the real parts
// (libevent loop, raw GRE socket, TUN overlay device, user-space dataplane,
// strongSwan over VICI or the clear-text `none` provider, control socket,
// signals) around the spoke agent. SIGTERM/SIGINT: shortcuts go back to the
// hub, tunnels down, registrations purged, then exit. SIGHUP: the log level
// is reloaded; everything else needs a restart (said in the log).
#pragma once

#include <string>

#include "app/privileges.h"

namespace advpnd::app {

// 0 after a clean shutdown, 1 when it could not start (logged), 2 for a bad config.
int run_spoke(const std::string& config_path, const PrivilegeRequest& privileges = {});

}  // namespace advpnd::app
