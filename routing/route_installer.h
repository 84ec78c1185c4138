// RouteInstaller: the seam through which advpnd installs the routes it needs
// into the kernel (ARCHITECTURE.md "Routing"): routes into its overlay
// device for prefixes reached through the overlay. Never by hand: a
// restarted daemon installs them again (its device, and every route through
// it, went away with the old process).
//
//   NetlinkRouteInstaller: RTM_NEWROUTE/RTM_DELROUTE with protocol "advpnd"
//     (kAdvpndProtocol), acknowledged (NLM_F_ACK), synchronous: routes are
//     installed at start and on reconfiguration, not per packet.
//   RecordingRouteInstaller: the fake; remembers what is installed.
//
// OwnedRoutes installs a set of routes and withdraws them when destroyed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "routing/netlink_socket.h"
#include "routing/route_message.h"

namespace advpnd::routing {

class RouteInstaller {
 public:
  virtual ~RouteInstaller() = default;
  // Creates the route, or replaces the one of the same prefix and metric.
  virtual Status<std::string> install(const RouteRequest& route) = 0;
  // Removes it; a route that is already gone is not an error.
  virtual Status<std::string> withdraw(const RouteRequest& route) = 0;
};

class NetlinkRouteInstaller final : public RouteInstaller {
 public:
  static Result<std::unique_ptr<NetlinkRouteInstaller>, std::string> open();
  Status<std::string> install(const RouteRequest& route) override;
  Status<std::string> withdraw(const RouteRequest& route) override;

 private:
  explicit NetlinkRouteInstaller(NetlinkSocket socket) : socket_(std::move(socket)) {}
  Status<std::string> request(RouteMessageKind kind, const RouteRequest& route);

  NetlinkSocket socket_;
  std::uint32_t sequence_ = 0;
};

class RecordingRouteInstaller final : public RouteInstaller {
 public:
  Status<std::string> install(const RouteRequest& route) override {
    if (fail_) return fail(std::string("install refused (simulated)"));
    std::erase_if(installed_, [&](const RouteRequest& held) { return same(held, route); });
    installed_.push_back(route);
    return {};
  }
  Status<std::string> withdraw(const RouteRequest& route) override {
    std::erase_if(installed_, [&](const RouteRequest& held) { return same(held, route); });
    return {};
  }
  [[nodiscard]] const std::vector<RouteRequest>& installed() const { return installed_; }
  void set_fail(bool fail_installs) { fail_ = fail_installs; }

 private:
  static bool same(const RouteRequest& a, const RouteRequest& b) {
    return a.prefix == b.prefix && a.metric == b.metric;
  }
  std::vector<RouteRequest> installed_;
  bool fail_ = false;
};

class OwnedRoutes {
 public:
  explicit OwnedRoutes(RouteInstaller& installer) : installer_(installer) {}
  ~OwnedRoutes();
  OwnedRoutes(const OwnedRoutes&) = delete;
  OwnedRoutes& operator=(const OwnedRoutes&) = delete;

  // Installs every route; each one refused is reported (named) and not kept.
  Status<std::string> install(const std::vector<RouteRequest>& routes);
  // Withdraws everything installed (also what the destructor does).
  void withdraw_all();
  [[nodiscard]] const std::vector<RouteRequest>& installed() const { return installed_; }

 private:
  RouteInstaller& installer_;
  std::vector<RouteRequest> installed_;
};

}  // namespace advpnd::routing
