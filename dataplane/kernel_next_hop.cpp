#include "dataplane/kernel_next_hop.h"

namespace advpnd::dataplane {

KernelNextHop kernel_next_hop(const KernelRouting& routing, const IpAddress& destination) {
  if (routing.routes == nullptr) return {};
  const routing::KernelRoute* route = routing.routes->lookup(destination);
  if (route == nullptr || !route->reachable) return {};
  if (route->ifindex != routing.overlay_ifindex) return {KernelNextHop::Kind::Kernel, {}};
  if (route->connected() || route->gateway == destination) return {};
  return {KernelNextHop::Kind::OverlayGateway, route->gateway};
}

}  // namespace advpnd::dataplane
