// KernelRouteTable: advpnd's copy of the kernel's main routing table
// (ARCHITECTURE.md "Routing"), fed by a RouteSource (netlink_routes.h on
// Linux; tests fill it directly) and read by both dataplanes and the hub's
// resolution forwarding. Never a kernel lookup per packet.
//
// The kernel tells routes apart by (table, prefix, TOS, metric): two routes
// to one prefix with different metrics coexist and the lowest metric wins
// (`ip route add 10.1.0.0/16 via A metric 10` then `... via B metric 20`).
// TOS is not used by advpnd's sources and is ignored. So each prefix holds
// its routes sorted by metric, and lookup() answers the longest prefix, then
// the lowest metric.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "routing/kernel_route.h"
#include "routing/prefix_map.h"

namespace advpnd::routing {

enum class RouteChange : std::uint8_t { Added, Replaced, Removed };

class KernelRouteTable {
 public:
  // Called after every change that took effect (not for a delete of a route
  // that was not there).
  using ChangeHandler = std::function<void(RouteChange, const KernelRoute&)>;

  // RTM_NEWROUTE: adds the route, or replaces the one of the same prefix and
  // metric (NLM_F_REPLACE, or the same route announced again).
  void upsert(KernelRoute route);
  // RTM_DELROUTE: removes the route of that prefix and metric; false when
  // there was none.
  bool remove(const shortcut::Prefix& prefix, std::uint32_t metric);
  // Every route out of `ifindex`: the kernel flushes the IPv4 routes of a
  // device that goes down or away without an RTM_DELROUTE for each
  // (fib_sync_down_dev), so the link event stands for them. The count removed.
  std::size_t remove_interface(std::uint32_t ifindex);
  // A new dump replaces everything (after a netlink overrun).
  void clear();

  // The best route to `address`: longest prefix, then lowest metric. Null
  // when none covers it (no default route).
  [[nodiscard]] const KernelRoute* lookup(const IpAddress& address) const;
  // The best route of exactly `prefix`, or null.
  [[nodiscard]] const KernelRoute* find(const shortcut::Prefix& prefix) const;
  // Every route, longest prefixes first, then by metric.
  [[nodiscard]] std::vector<KernelRoute> routes() const;

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t prefixes() const { return by_prefix_.size(); }
  // Bumped by every change: a reader can cache decisions per generation.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

  void set_change_handler(ChangeHandler handler) { on_change_ = std::move(handler); }

 private:
  void changed(RouteChange change, const KernelRoute& route);

  PrefixMap<std::vector<KernelRoute>> by_prefix_;  // each vector sorted by metric, never empty
  std::size_t size_ = 0;
  std::uint64_t generation_ = 0;
  ChangeHandler on_change_;
};

}  // namespace advpnd::routing
