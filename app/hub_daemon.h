// `advpnd hub --config FILE`: the hub daemon. Wires the real parts together
// (libevent loop, raw GRE socket, SQLite store, control socket, signals)
// around hub::NextHopServer. SIGTERM/SIGINT: clean shutdown (the open batch
// is committed and answered first). SIGHUP: the config is read again and
// what can change without dropping state is applied; a bad file is logged
// and the running config kept.
#pragma once

#include <string>

#include "app/privileges.h"

namespace advpnd::app {

// Returns the process exit status: 0 after a clean shutdown, 1 when the
// daemon could not start (the reason is logged), 2 for a bad config.
int run_hub(const std::string& config_path, const PrivilegeRequest& privileges = {});

}  // namespace advpnd::app
