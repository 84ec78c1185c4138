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

std::optional<IpAddress> overlay_gateway(const KernelRouting& routing, const IpAddress& destination) {
  const KernelNextHop hop = kernel_next_hop(routing, destination);
  if (hop.kind != KernelNextHop::Kind::OverlayGateway) return std::nullopt;
  return hop.gateway;
}

std::optional<std::uint8_t> lan_route_prefix(const KernelRouting& routing, const IpAddress& target,
                                             const IpAddress& nbma_probe) {
  if (routing.routes == nullptr) return std::nullopt;
  const routing::KernelRoute* route = routing.routes->lookup(target);
  if (route == nullptr || !route->reachable || route->prefix.length == 0) return std::nullopt;
  if (route->ifindex == routing.overlay_ifindex || route->ifindex == 0) return std::nullopt;
  if (const routing::KernelRoute* wan = routing.routes->lookup(nbma_probe);
      wan != nullptr && wan->ifindex == route->ifindex) {
    return std::nullopt;
  }
  return route->prefix.length;
}

}  // namespace advpnd::dataplane
