// RouteSource: the seam between the kernel's routing table and the parts of
// advpnd that follow it (both dataplanes, the hub's resolution forwarding).
// A source keeps a KernelRouteTable current; readers hold a reference to the
// table and look routes up locally, never asking the kernel per packet.
//
//   NetlinkRouteSource (netlink_routes.h): dumps the main table at start,
//     then applies RTM_NEWROUTE/RTM_DELROUTE events on the event loop.
//   FakeRouteSource (below): a table that tests fill by hand.
#pragma once

#include "routing/kernel_route_table.h"

namespace advpnd::routing {

class RouteSource {
 public:
  virtual ~RouteSource() = default;
  [[nodiscard]] virtual const KernelRouteTable& routes() const = 0;
  // Changes are reported through the table's handler (one subscriber).
  virtual void set_change_handler(KernelRouteTable::ChangeHandler handler) = 0;
};

class FakeRouteSource final : public RouteSource {
 public:
  [[nodiscard]] const KernelRouteTable& routes() const override { return table_; }
  void set_change_handler(KernelRouteTable::ChangeHandler handler) override {
    table_.set_change_handler(std::move(handler));
  }
  // What the kernel would have announced.
  [[nodiscard]] KernelRouteTable& table() { return table_; }

 private:
  KernelRouteTable table_;
};

}  // namespace advpnd::routing
