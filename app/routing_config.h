// The [routing] section of the hub and spoke configs (app/routing_setup.h
// reads it and starts what it asks for).
#pragma once

#include <vector>

#include "shortcut/prefix.h"

namespace advpnd::app {

struct RoutingConfig {
  // Forward what no NHRP binding/shortcut covers by the kernel's routes.
  bool follow_kernel_routes = true;
  // Routes into the overlay device that advpnd installs at start and
  // removes at stop (the prefixes reached through the hub).
  std::vector<shortcut::Prefix> overlay_routes;
};

}  // namespace advpnd::app
