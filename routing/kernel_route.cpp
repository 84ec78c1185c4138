#include "routing/kernel_route.h"

namespace advpnd::routing {

RouteProtocol protocol_from_number(std::uint8_t number) {
  switch (number) {
    case 0:
      return RouteProtocol::Unspecified;
    case 1:
      return RouteProtocol::Redirect;
    case 2:
      return RouteProtocol::Kernel;
    case 3:
      return RouteProtocol::Boot;
    case 4:
      return RouteProtocol::Static;
    case 11:
      return RouteProtocol::Zebra;
    case 186:
      return RouteProtocol::Bgp;
    case 187:
      return RouteProtocol::Isis;
    case 188:
      return RouteProtocol::Ospf;
    case 189:
      return RouteProtocol::Rip;
    case kAdvpndProtocol:
      return RouteProtocol::Advpnd;
    default:
      return RouteProtocol::Other;
  }
}

std::string_view to_string(RouteProtocol protocol) {
  switch (protocol) {
    case RouteProtocol::Unspecified:
      return "unspec";
    case RouteProtocol::Redirect:
      return "redirect";
    case RouteProtocol::Kernel:
      return "kernel";
    case RouteProtocol::Boot:
      return "boot";
    case RouteProtocol::Static:
      return "static";
    case RouteProtocol::Zebra:
      return "zebra";
    case RouteProtocol::Bgp:
      return "bgp";
    case RouteProtocol::Isis:
      return "isis";
    case RouteProtocol::Ospf:
      return "ospf";
    case RouteProtocol::Rip:
      return "rip";
    case RouteProtocol::Advpnd:
      return "advpnd";
    case RouteProtocol::Other:
      return "other";
  }
  return "other";
}

std::string KernelRoute::to_string() const {
  std::string text = prefix.to_string();
  if (!reachable) text = "unreachable " + text;
  if (!gateway.empty()) text += " via " + gateway.to_string();
  if (ifindex != 0) text += " dev " + (ifname.empty() ? "#" + std::to_string(ifindex) : ifname);
  text += " proto ";
  text +=
      protocol == RouteProtocol::Other ? std::to_string(protocol_number) : std::string(routing::to_string(protocol));
  if (metric != 0) text += " metric " + std::to_string(metric);
  return text;
}

}  // namespace advpnd::routing
