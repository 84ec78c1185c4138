#include "routing/route_message.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace advpnd::routing {
namespace {

// The attributes advpnd reads, indexed by type (after validation).
struct RouteAttributes {
  std::array<const nlattr*, RTA_MAX + 1> by_type{};
  std::string error;
};

// mnl_attr_parse callback: refuses an attribute whose payload does not have
// the size its type demands (RFC 3549 says nothing; the kernel's
// rtm_ipv4_policy does).
int validate_attribute(const nlattr* attribute, void* data) {
  auto& attributes = *static_cast<RouteAttributes*>(data);
  const std::uint16_t type = mnl_attr_get_type(attribute);
  if (mnl_attr_type_valid(attribute, RTA_MAX) < 0) return MNL_CB_OK;  // newer than our headers: skip it
  switch (type) {
    case RTA_TABLE:
    case RTA_OIF:
    case RTA_PRIORITY:
      if (mnl_attr_validate(attribute, MNL_TYPE_U32) < 0) {
        attributes.error = "route attribute " + std::to_string(type) + ": " +
                           std::to_string(mnl_attr_get_payload_len(attribute)) + " bytes, not a u32";
        return MNL_CB_ERROR;
      }
      break;
    case RTA_DST:
    case RTA_GATEWAY: {
      const std::uint16_t size = mnl_attr_get_payload_len(attribute);
      if (size != IpAddress::kIpv4Size && size != IpAddress::kIpv6Size) {
        attributes.error = "route attribute " + std::to_string(type) + ": " + std::to_string(size) +
                           " bytes, not an IPv4 or IPv6 address";
        return MNL_CB_ERROR;
      }
      break;
    }
    default:
      return MNL_CB_OK;  // RTA_MULTIPATH, RTA_CACHEINFO, RTA_PREFSRC...: not read
  }
  attributes.by_type[type] = attribute;
  return MNL_CB_OK;
}

IpAddress address_of(const nlattr* attribute) {
  IpAddress address;
  address.assign(std::span<const std::byte>(static_cast<const std::byte*>(mnl_attr_get_payload(attribute)),
                                            mnl_attr_get_payload_len(attribute)));
  return address;
}

// What is left after the last attribute libmnl accepts (mnl_attr_ok): 0 for
// a well-formed message.
std::size_t bytes_past_last_attribute(const nlmsghdr& message) {
  const auto* attribute = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(&message, sizeof(rtmsg)));
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(&message));
  auto remaining = static_cast<int>(tail - reinterpret_cast<const char*>(attribute));
  while (mnl_attr_ok(attribute, remaining)) {
    remaining -= static_cast<int>(MNL_ALIGN(attribute->nla_len));
    attribute = mnl_attr_next(attribute);
  }
  return remaining > 0 ? static_cast<std::size_t>(remaining) : 0;
}

bool is_route_type_of_interest(std::uint8_t type) {
  // Unicast routes carry traffic; blackhole/unreachable/prohibit routes
  // (a BGP summary's discard route) decide that it is dropped.
  return type == RTN_UNICAST || type == RTN_BLACKHOLE || type == RTN_UNREACHABLE || type == RTN_PROHIBIT;
}

}  // namespace

Result<std::optional<RouteMessage>, std::string> decode_route_message(const nlmsghdr& message) {
  if (message.nlmsg_type != RTM_NEWROUTE && message.nlmsg_type != RTM_DELROUTE) {
    return std::optional<RouteMessage>{};
  }
  if (mnl_nlmsg_get_payload_len(&message) < sizeof(rtmsg)) {
    return fail("route message: " + std::to_string(mnl_nlmsg_get_payload_len(&message)) +
                " bytes of payload, shorter than rtmsg (" + std::to_string(sizeof(rtmsg)) + ")");
  }
  rtmsg header{};
  std::memcpy(&header, mnl_nlmsg_get_payload(&message), sizeof header);
  if (header.rtm_family != AF_INET && header.rtm_family != AF_INET6) return std::optional<RouteMessage>{};
  if ((header.rtm_flags & RTM_F_CLONED) != 0 || !is_route_type_of_interest(header.rtm_type)) {
    return std::optional<RouteMessage>{};
  }
  RouteAttributes attributes;
  if (mnl_attr_parse(&message, sizeof(rtmsg), validate_attribute, &attributes) < 0) {
    return fail(attributes.error.empty() ? std::string("route message: attributes overrun the message")
                                         : attributes.error);
  }
  if (const std::size_t unparsed = bytes_past_last_attribute(message); unparsed != 0) {
    // mnl_attr_parse stops quietly at an attribute that overruns the message.
    return fail("route message: " + std::to_string(unparsed) + " bytes of attributes do not parse");
  }
  const auto& by_type = attributes.by_type;
  const std::uint32_t table = by_type[RTA_TABLE] != nullptr ? mnl_attr_get_u32(by_type[RTA_TABLE]) : header.rtm_table;
  if (table != RT_TABLE_MAIN) return std::optional<RouteMessage>{};

  const std::size_t width = header.rtm_family == AF_INET ? 32 : 128;
  if (header.rtm_dst_len > width) {
    return fail("route message: prefix length " + std::to_string(header.rtm_dst_len) + " > " + std::to_string(width));
  }
  if (header.rtm_dst_len != 0 && by_type[RTA_DST] == nullptr) {
    return fail("route message: prefix length " + std::to_string(header.rtm_dst_len) + " without RTA_DST");
  }
  IpAddress destination = by_type[RTA_DST] != nullptr    ? address_of(by_type[RTA_DST])
                          : header.rtm_family == AF_INET ? IpAddress::v4(0)
                                                         : IpAddress::parse("::").value_or(IpAddress{});
  if (destination.bit_width() != width) {
    return fail("route message: RTA_DST of " + std::to_string(destination.size()) + " bytes in a family of " +
                std::to_string(width) + "-bit addresses");
  }
  RouteMessage decoded;
  decoded.kind = message.nlmsg_type == RTM_NEWROUTE ? RouteMessageKind::New : RouteMessageKind::Deleted;
  KernelRoute& route = decoded.route;
  route.prefix = shortcut::Prefix::of(destination, header.rtm_dst_len);
  if (by_type[RTA_GATEWAY] != nullptr) {
    route.gateway = address_of(by_type[RTA_GATEWAY]);
    if (route.gateway.bit_width() != width) return fail("route message: RTA_GATEWAY of another family");
  }
  if (by_type[RTA_OIF] != nullptr) route.ifindex = mnl_attr_get_u32(by_type[RTA_OIF]);
  if (by_type[RTA_PRIORITY] != nullptr) route.metric = mnl_attr_get_u32(by_type[RTA_PRIORITY]);
  route.protocol_number = header.rtm_protocol;
  route.protocol = protocol_from_number(header.rtm_protocol);
  route.reachable = header.rtm_type == RTN_UNICAST;
  return std::optional<RouteMessage>{std::move(decoded)};
}

std::span<const std::byte> encode_route_request(RouteMessageKind kind, const RouteRequest& request,
                                                std::uint32_t sequence, std::span<std::byte> buffer) {
  const IpAddress& destination = request.prefix.address;
  if (buffer.size() < kRouteRequestBufferSize || destination.empty()) return {};
  if (!request.gateway.empty() && request.gateway.family() != destination.family()) return {};
  const bool ipv4 = destination.family() == AddressFamily::Ipv4;

  nlmsghdr* message = mnl_nlmsg_put_header(buffer.data());
  message->nlmsg_type = kind == RouteMessageKind::New ? RTM_NEWROUTE : RTM_DELROUTE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  if (kind == RouteMessageKind::New) message->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
  message->nlmsg_seq = sequence;
  auto* header = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  header->rtm_family = ipv4 ? AF_INET : AF_INET6;
  header->rtm_dst_len = request.prefix.length;
  header->rtm_table = RT_TABLE_MAIN;
  header->rtm_protocol = kAdvpndProtocol;
  header->rtm_scope = request.gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  header->rtm_type = RTN_UNICAST;
  mnl_attr_put(message, RTA_DST, destination.size(), destination.bytes().data());
  if (!request.gateway.empty())
    mnl_attr_put(message, RTA_GATEWAY, request.gateway.size(), request.gateway.bytes().data());
  if (request.ifindex != 0) mnl_attr_put_u32(message, RTA_OIF, request.ifindex);
  if (request.metric != 0) mnl_attr_put_u32(message, RTA_PRIORITY, request.metric);
  return buffer.first(message->nlmsg_len);
}

}  // namespace advpnd::routing
