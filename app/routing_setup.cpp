#include "app/routing_setup.h"

#include "base/log.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "routes";
}  // namespace

void read_routing(TomlReader& in, RoutingConfig& config) {
  if (auto v = in.boolean("routing", "follow_kernel_routes")) config.follow_kernel_routes = *v;
  if (auto list = in.strings("routing", "overlay_routes")) {
    for (const std::string& text : *list) {
      auto prefix = shortcut::Prefix::parse(text);
      if (!prefix || prefix->address.family() != AddressFamily::Ipv4) {
        in.fail_at("routing", "overlay_routes", "\"" + text + "\" is not an IPv4 prefix like 10.1.0.0/16");
        return;
      }
      config.overlay_routes.push_back(*prefix);
    }
  }
}

Result<std::unique_ptr<RoutingParts>, std::string> start_routing(platform::EventLoop& loop, const RoutingConfig& config,
                                                                 std::uint32_t overlay_ifindex) {
  auto parts = std::make_unique<RoutingParts>();
  if (!config.overlay_routes.empty()) {
    if (overlay_ifindex == 0) return fail(std::string("overlay_routes: the overlay device has no ifindex"));
    auto installer = routing::NetlinkRouteInstaller::open();
    if (!installer) return fail(installer.error());
    parts->installer = std::move(installer.value());
    parts->owned = std::make_unique<routing::OwnedRoutes>(*parts->installer);
    std::vector<routing::RouteRequest> requests;
    for (const shortcut::Prefix& prefix : config.overlay_routes) {
      requests.push_back({prefix, {}, overlay_ifindex, 0});
    }
    if (auto installed = parts->owned->install(requests); !installed)
      return fail("overlay_routes: " + installed.error());
  }
  if (!config.follow_kernel_routes) {
    log::warning(kLog, "follow_kernel_routes = false: forwarding by NHRP bindings only");
    return parts;
  }
  auto source = routing::NetlinkRouteSource::start(loop);
  if (!source) return fail(source.error());
  parts->source = std::move(source.value());
  return parts;
}

}  // namespace advpnd::app
