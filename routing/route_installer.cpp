#include "routing/route_installer.h"

#include <array>

#include "base/log.h"

namespace advpnd::routing {
namespace {

constexpr std::string_view kLog = "routes";

std::string describe(const RouteRequest& route) {
  std::string text = route.prefix.to_string();
  if (!route.gateway.empty()) text += " via " + route.gateway.to_string();
  text += " dev #" + std::to_string(route.ifindex);
  if (route.metric != 0) text += " metric " + std::to_string(route.metric);
  return text;
}

}  // namespace

Result<std::unique_ptr<NetlinkRouteInstaller>, std::string> NetlinkRouteInstaller::open() {
  auto socket = NetlinkSocket::open(0, false);
  if (!socket) return fail("route installer: " + socket.error());
  return std::unique_ptr<NetlinkRouteInstaller>(new NetlinkRouteInstaller(std::move(socket.value())));
}

Status<std::string> NetlinkRouteInstaller::request(RouteMessageKind kind, const RouteRequest& route) {
  std::array<std::byte, kRouteRequestBufferSize> buffer{};
  const std::uint32_t sequence = ++sequence_;
  const std::span<const std::byte> message = encode_route_request(kind, route, sequence, buffer);
  if (message.empty()) return fail("route " + describe(route) + ": not expressible (family mismatch or no prefix)");
  auto done = socket_.transact(message, sequence, [](const nlmsghdr&) {});
  if (!done) return fail("route " + describe(route) + ": " + done.error());
  return {};
}

Status<std::string> NetlinkRouteInstaller::install(const RouteRequest& route) {
  return request(RouteMessageKind::New, route);
}

Status<std::string> NetlinkRouteInstaller::withdraw(const RouteRequest& route) {
  auto done = request(RouteMessageKind::Deleted, route);
  // ESRCH: already gone (its device went away, or someone removed it).
  if (!done && done.error().find("No such process") != std::string::npos) return {};
  return done;
}

OwnedRoutes::~OwnedRoutes() { withdraw_all(); }

Status<std::string> OwnedRoutes::install(const std::vector<RouteRequest>& routes) {
  std::string refused;
  for (const RouteRequest& route : routes) {
    if (auto done = installer_.install(route); !done) {
      refused += (refused.empty() ? "" : "; ") + done.error();
      continue;
    }
    log::info(kLog, "installed " + describe(route));
    installed_.push_back(route);
  }
  if (!refused.empty()) return fail(refused);
  return {};
}

void OwnedRoutes::withdraw_all() {
  for (const RouteRequest& route : installed_) {
    if (auto done = installer_.withdraw(route); !done) log::warning(kLog, done.error());
  }
  installed_.clear();
}

}  // namespace advpnd::routing
