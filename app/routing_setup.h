// The daemons' part of routing (ARCHITECTURE.md "Routing: forwarding follows
// the kernel's routes"): the [routing] section of both configs, and at start
// the netlink route source (the dataplanes' copy of the kernel's main table)
// and the routes advpnd installs into its overlay device itself.
//
//   [routing]
//   follow_kernel_routes = true          # default; false: NHRP bindings only (as before)
//   overlay_routes = ["10.1.0.0/16"]     # installed via the overlay device at start,
//                                        # removed at stop; a restart puts them back
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/routing_config.h"
#include "app/toml_reader.h"
#include "base/result.h"
#include "dataplane/kernel_next_hop.h"
#include "platform/event_loop.h"
#include "routing/netlink_routes.h"
#include "routing/route_installer.h"
#include "shortcut/prefix.h"

namespace advpnd::app {

// Reads the optional [routing] table; errors go to `in` with file and line.
void read_routing(TomlReader& in, RoutingConfig& config);

// What a daemon keeps while it runs; destroying it removes the routes it
// installed (before the device goes away with them anyway).
struct RoutingParts {
  std::unique_ptr<routing::NetlinkRouteSource> source;  // null: not following the kernel
  std::unique_ptr<routing::NetlinkRouteInstaller> installer;
  std::unique_ptr<routing::OwnedRoutes> owned;
  // For the dataplanes (routes null when not following).
  [[nodiscard]] dataplane::KernelRouting view(std::uint32_t overlay_ifindex) const {
    return {source ? &source->routes() : nullptr, overlay_ifindex};
  }
};

// Installs the overlay routes through the device `overlay_ifindex`, then
// starts following the kernel's table. Fails with a message naming the
// route or the netlink error.
[[nodiscard]] Result<std::unique_ptr<RoutingParts>, std::string> start_routing(platform::EventLoop& loop,
                                                                               const RoutingConfig& config,
                                                                               std::uint32_t overlay_ifindex);

}  // namespace advpnd::app
