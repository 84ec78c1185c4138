#include "routing/netlink_routes.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "routing/route_message.h"

namespace advpnd::routing {
namespace {

constexpr std::string_view kLog = "routes";

}  // namespace

NetlinkRouteSource::NetlinkRouteSource(NetlinkSocket events, NetlinkSocket requests)
    : events_(std::move(events)), requests_(std::move(requests)) {}

Result<std::unique_ptr<NetlinkRouteSource>, std::string> NetlinkRouteSource::start(platform::EventLoop& loop,
                                                                                   int receive_buffer_bytes) {
  auto events = NetlinkSocket::open(RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_LINK, true);
  if (!events) return fail("route events: " + events.error());
  events->set_receive_buffer(receive_buffer_bytes);
  auto requests = NetlinkSocket::open(0, false);
  if (!requests) return fail("route dump: " + requests.error());
  std::unique_ptr<NetlinkRouteSource> source(
      new NetlinkRouteSource(std::move(events.value()), std::move(requests.value())));
  if (auto dumped = source->dump(); !dumped) return fail(dumped.error());
  NetlinkRouteSource* self = source.get();
  auto watch = loop.watch_readable(source->events_.fd(), [self] { self->read_events(); });
  if (!watch) return fail("route events: " + watch.error());
  source->watch_ = std::move(watch.value());
  log::info(kLog, "following the kernel's main table: " + std::to_string(source->table_.size()) + " routes");
  return source;
}

Status<std::string> NetlinkRouteSource::dump() {
  std::array<std::byte, 64> buffer{};
  nlmsghdr* request = mnl_nlmsg_put_header(buffer.data());
  request->nlmsg_type = RTM_GETROUTE;
  request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request->nlmsg_seq = ++sequence_;
  auto* header = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(rtmsg)));
  header->rtm_family = AF_UNSPEC;  // IPv4 and IPv6
  table_.clear();
  ++stats_.dumps;
  auto done = requests_.transact(std::span<const std::byte>(buffer.data(), request->nlmsg_len), request->nlmsg_seq,
                                 [this](const nlmsghdr& message) { apply(message); });
  if (!done) return fail("route dump: " + done.error());
  return {};
}

void NetlinkRouteSource::read_events() {
  for (std::size_t datagram = 0; datagram < kMaxDatagramsPerTurn; ++datagram) {
    std::string error;
    switch (events_.receive([this](const nlmsghdr& message) { apply(message); }, error)) {
      case NetlinkSocket::ReceiveStatus::Received:
        continue;
      case NetlinkSocket::ReceiveStatus::Empty:
        return;
      case NetlinkSocket::ReceiveStatus::Overrun:
        ++stats_.overruns;
        log::warning(kLog, "route events overran the socket buffer (ENOBUFS): dumping the table again");
        if (auto dumped = dump(); !dumped) log::error(kLog, dumped.error());
        return;
      case NetlinkSocket::ReceiveStatus::Failed:
        log::error(kLog, error);
        return;
    }
  }
}

void NetlinkRouteSource::apply(const nlmsghdr& message) {
  if (message.nlmsg_type == RTM_NEWLINK || message.nlmsg_type == RTM_DELLINK) {
    apply_link(message);
    return;
  }
  auto decoded = decode_route_message(message);
  if (!decoded) {
    ++stats_.malformed;
    log::warning(kLog, decoded.error());
    return;
  }
  if (!decoded->has_value()) {
    ++stats_.ignored;
    return;
  }
  ++stats_.events;
  RouteMessage& route_message = **decoded;
  KernelRoute& route = route_message.route;
  if (route_message.kind == RouteMessageKind::Deleted) {
    (void)table_.remove(route.prefix, route.metric);
    return;
  }
  if (route.ifindex != 0) route.ifname = interface_name(route.ifindex);
  table_.upsert(std::move(route));
}

void NetlinkRouteSource::apply_link(const nlmsghdr& message) {
  interface_names_.clear();  // renamed or gone: names are looked up again
  if (mnl_nlmsg_get_payload_len(&message) < sizeof(ifinfomsg)) return;
  ifinfomsg link{};
  std::memcpy(&link, mnl_nlmsg_get_payload(&message), sizeof link);
  if (link.ifi_index <= 0) return;
  // Down or deleted: the kernel has flushed its routes without telling.
  if (message.nlmsg_type == RTM_DELLINK || (link.ifi_flags & IFF_UP) == 0) {
    const std::size_t removed = table_.remove_interface(static_cast<std::uint32_t>(link.ifi_index));
    if (removed != 0) {
      log::info(kLog, "interface #" + std::to_string(link.ifi_index) + " down: " + std::to_string(removed) +
                          " routes through it removed");
    }
  }
}

const std::string& NetlinkRouteSource::interface_name(std::uint32_t ifindex) {
  auto [it, added] = interface_names_.try_emplace(ifindex);
  if (added) {
    std::array<char, IF_NAMESIZE> name{};
    if (::if_indextoname(ifindex, name.data()) != nullptr) it->second = name.data();
  }
  return it->second;
}

}  // namespace advpnd::routing
