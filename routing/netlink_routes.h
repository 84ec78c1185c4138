// NetlinkRouteSource: the Linux RouteSource. It subscribes to route and link
// events (RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE, RTMGRP_LINK), then dumps the
// main table into its KernelRouteTable, then applies each event from the
// event loop as it arrives.
//
// Ordering: the subscription is made before the dump, so an event that
// races the dump is queued and applied after it. Each event carries the
// whole state of one (prefix, metric) and applying it is idempotent, so
// replaying queued events over a newer dump ends in the kernel's state.
//
// Links: the kernel flushes the IPv4 routes of a device that goes down or
// is deleted without an RTM_DELROUTE each; a link event that says so removes
// them from the table (KernelRouteTable::remove_interface).
//
// Overrun: when more events arrive than the socket buffer holds (a BGP
// full table withdrawn at once), the kernel drops them and reports ENOBUFS
// (netlink(7)); the table is then dumped again from scratch (counted).
//
// Each readable event handles at most kMaxDatagramsPerTurn datagrams
// (level-triggered watch), so a route storm cannot starve the dataplane.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "platform/event_loop.h"
#include "routing/netlink_socket.h"
#include "routing/route_source.h"

namespace advpnd::routing {

struct NetlinkRouteStats {
  std::uint64_t dumps = 0;      // full dumps: 1 at start, +1 per overrun
  std::uint64_t events = 0;     // route messages applied (dumped or announced)
  std::uint64_t ignored = 0;    // other tables, local/broadcast, clones
  std::uint64_t malformed = 0;  // refused by the decoder (logged)
  std::uint64_t overruns = 0;   // ENOBUFS: events lost, table dumped again
};

class NetlinkRouteSource final : public RouteSource {
 public:
  static constexpr std::size_t kMaxDatagramsPerTurn = 64;
  static constexpr int kReceiveBufferBytes = 8 * 1024 * 1024;

  // Subscribes, dumps, and watches the socket on `loop` (which must outlive
  // the source). Fails with a message when netlink is refused.
  // `receive_buffer_bytes`: events that may queue while the loop is busy.
  static Result<std::unique_ptr<NetlinkRouteSource>, std::string> start(platform::EventLoop& loop,
                                                                        int receive_buffer_bytes = kReceiveBufferBytes);
  ~NetlinkRouteSource() override = default;
  NetlinkRouteSource(const NetlinkRouteSource&) = delete;
  NetlinkRouteSource& operator=(const NetlinkRouteSource&) = delete;

  [[nodiscard]] const KernelRouteTable& routes() const override { return table_; }
  void set_change_handler(KernelRouteTable::ChangeHandler handler) override {
    table_.set_change_handler(std::move(handler));
  }
  [[nodiscard]] const NetlinkRouteStats& stats() const { return stats_; }

  // Handles what is queued now (what a readable event does).
  void read_events();

 private:
  NetlinkRouteSource(NetlinkSocket events, NetlinkSocket requests);
  Status<std::string> dump();
  void apply(const nlmsghdr& message);
  void apply_link(const nlmsghdr& message);
  [[nodiscard]] const std::string& interface_name(std::uint32_t ifindex);

  NetlinkSocket events_;
  NetlinkSocket requests_;
  std::unique_ptr<platform::FdWatch> watch_;
  KernelRouteTable table_;
  NetlinkRouteStats stats_;
  std::unordered_map<std::uint32_t, std::string> interface_names_;  // cleared per link event
  std::uint32_t sequence_ = 0;
};

}  // namespace advpnd::routing
