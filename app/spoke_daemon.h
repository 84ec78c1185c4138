// `advpnd spoke --config FILE`: the spoke daemon. Wires the real parts
// (libevent loop, raw GRE socket, TUN overlay device, user-space dataplane,
// strongSwan over VICI or the clear-text `none` provider, control socket,
// signals) around the spoke agent. SIGTERM/SIGINT: shortcuts go back to the
// hub, tunnels down, registrations purged, then exit. SIGHUP: new NHSs, the
// authentication password, shortcut timers and the log level are applied
// without dropping working shortcuts; other changed keys are named in a
// warning (app/spoke_reload.h).
#pragma once

#include <string>

#include "app/privileges.h"

namespace advpnd::app {

// 0 after a clean shutdown, 1 when it could not start (logged), 2 for a bad config.
int run_spoke(const std::string& config_path, const PrivilegeRequest& privileges = {});

}  // namespace advpnd::app
