// Route messages of rtnetlink (rtnetlink(7), linux/rtnetlink.h), decoded and
// built with libmnl: its attribute walker checks every attribute's length
// against the message (mnl_attr_parse), and the callbacks below validate each
// attribute's type and payload size before it is read (mnl_attr_validate).
// No struct is cast over an attribute's payload.
//
// Only routes of the main table (RT_TABLE_MAIN, from RTA_TABLE when present:
// rtm_table holds only 8 bits) are of interest; cached clones, local and
// broadcast routes (table local) and multicast routes are skipped, not errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/result.h"
#include "routing/kernel_route.h"

struct nlmsghdr;

namespace advpnd::routing {

enum class RouteMessageKind : std::uint8_t { New, Deleted };

struct RouteMessage {
  RouteMessageKind kind = RouteMessageKind::New;
  KernelRoute route;  // ifname left empty: the caller names interfaces
};

// A route message of the main table, nullopt for one advpnd ignores, or an
// error naming what is malformed (with the numbers).
[[nodiscard]] Result<std::optional<RouteMessage>, std::string> decode_route_message(const nlmsghdr& message);

// What advpnd installs itself (routes into its overlay device).
struct RouteRequest {
  shortcut::Prefix prefix;
  IpAddress gateway;  // empty: on-link through the device
  std::uint32_t ifindex = 0;
  std::uint32_t metric = 0;
};

// Builds RTM_NEWROUTE (create or replace) or RTM_DELROUTE into `buffer`
// (at least kRouteRequestBufferSize bytes), protocol kAdvpndProtocol, main
// table, with NLM_F_ACK. The message, or empty when the request is not one
// advpnd can express (no family, gateway of the other family).
inline constexpr std::size_t kRouteRequestBufferSize = 256;
[[nodiscard]] std::span<const std::byte> encode_route_request(RouteMessageKind kind, const RouteRequest& request,
                                                              std::uint32_t sequence, std::span<std::byte> buffer);

}  // namespace advpnd::routing
