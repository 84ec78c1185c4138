// Resolution Request/Reply handling (RFC 2332 5.2.1, 5.2.2, 5.3.2-5.3.3;
// NHRP-WIRE.md 8.3): answered from the committed cache when the hub holds
// the host binding, forwarded to the spoke that registered a covering
// prefix, else forwarded along the routing table to the binding of the
// route's overlay next hop (RFC 2332 5.3: requests follow the routed path;
// a spoke that registered only its /32 and announces its LAN by BGP, or an
// NHS of another tier), else, on a regional hub with no route, to its
// upstream NHS; otherwise refused with code 12. Replies go back hop by hop
// along the path the request took.
#include <algorithm>

#include "base/log.h"
#include "hub/next_hop_server.h"
#include "nhrp/auth.h"

namespace advpnd::hub {
namespace {
constexpr std::string_view kLog = "nhs";

bool lists_station(const nhrp::Extension* record, const IpAddress& nbma) {
  if (record == nullptr) return false;
  return std::any_of(record->cies.begin(), record->cies.end(), [&](const nhrp::Cie& cie) { return cie.nbma == nbma; });
}

// The authentication extension is regenerated hop by hop (RFC 2332 5.3.4).
void regenerate_auth(nhrp::Packet& packet, const std::optional<std::string>& password) {
  if (!password) return;
  if (nhrp::Extension* auth = packet.find_extension(nhrp::ExtensionType::Authentication)) {
    *auth = nhrp::make_cisco_auth(*password);
  }
}
}  // namespace

void NextHopServer::handle_resolution_request(const NbmaFrame& frame, const nhrp::Packet& request) {
  if (!authenticated(frame, request) || !extensions_understood(frame, request)) return;
  // RFC 2332 5.3.2: an NHS finding itself in the Forward Transit record has a loop.
  if (lists_station(request.find_extension(nhrp::ExtensionType::ForwardTransit), config_.nbma)) {
    stats_.count_error("loop detected");
    send_error_indication(frame.outer_source, nhrp::ErrorCode::LoopDetected, 0, frame.payload, request.src_protocol);
    return;
  }
  const std::int64_t now = steady_unix_seconds();
  const IpAddress& target = request.dst_protocol;
  nhrp::ReplySpec spec;
  spec.sender = sender();
  nhrp::Cie answer = request.cies.empty() ? nhrp::Cie{} : request.cies.front();
  answer.reserved = 0;

  if (target == config_.protocol) {
    spec.responder = own_cie(config_.max_holding_time);
    answer = own_cie(config_.max_holding_time);
    answer.prefix_length = static_cast<std::uint8_t>(target.bit_width());
  } else if (const db::Binding* owner = cache_.longest_match(target, now)) {
    const bool host_binding = owner->key.prefix_len == owner->key.protocol.bit_width();
    if (!host_binding && owner->key.nbma != request.src_nbma) {
      // The spoke that registered the covering prefix is authoritative for
      // what lies behind it: it answers (RFC 2332 5.2.1, 5.3.2).
      forward_request(request, owner->post_nat_nbma.empty() ? owner->key.nbma : owner->post_nat_nbma, frame);
      return;
    }
    // Authoritative answer from the registration cache; holding time = what remains.
    answer.code = nhrp::CieCode::Success;
    answer.prefix_length = owner->key.prefix_len;
    answer.mtu = owner->mtu;
    answer.holding_time = static_cast<std::uint16_t>(std::clamp<std::int64_t>(owner->expires_at - now, 0, 0xFFFF));
    answer.nbma = owner->key.nbma;
    answer.protocol = owner->key.protocol;
    spec.responder = own_cie(config_.max_holding_time);
    // NAT-corrected NBMA for the requester (NHRP-WIRE.md 7.6).
    if (!owner->post_nat_nbma.empty() && owner->post_nat_nbma != owner->key.nbma) {
      nhrp::Cie nat = answer;
      nat.holding_time = 0;
      nat.nbma = owner->post_nat_nbma;
      spec.nat_append.push_back(nat);
    }
    (void)remember_resolver(owner->key, frame.outer_source, request.src_protocol, now + answer.holding_time, 0);
  } else if (forward_along_route(request, frame)) {
    return;
  } else {
    // RFC 2332 5.2.2: code 12, holding time 0 on a NAK.
    stats_.count_error("no binding for resolution");
    answer.code = nhrp::CieCode::NoBindingExists;
    answer.holding_time = 0;
    answer.nbma = IpAddress{};
    answer.protocol = IpAddress{};
    spec.responder = own_cie(config_.max_holding_time);
    log::debug(kLog, "no binding for " + target.to_string() + " asked by " + frame.outer_source.to_string());
  }
  send(frame.outer_source, nhrp::build_resolution_reply(request, std::span<const nhrp::Cie>(&answer, 1), spec));
}

std::optional<IpAddress> NextHopServer::nbma_of_overlay(const IpAddress& overlay) const {
  if (const db::Binding* station = cache_.longest_match(overlay, steady_unix_seconds())) {
    return station->post_nat_nbma.empty() ? station->key.nbma : station->post_nat_nbma;
  }
  for (const UpstreamNhs& nhs : config_.upstream) {
    if (nhs.protocol == overlay) return nhs.nbma;
  }
  return std::nullopt;
}

bool NextHopServer::forward_along_route(const nhrp::Packet& request, const NbmaFrame& frame) {
  std::optional<IpAddress> station;
  const std::optional<IpAddress> next_hop = route_next_hop_ ? route_next_hop_(request.dst_protocol) : std::nullopt;
  if (next_hop) {
    station = nbma_of_overlay(*next_hop);
    if (!station) {
      stats_.count_error("route next hop without a binding");
      return false;
    }
  } else if (!config_.upstream.empty()) {
    // No route: a regional hub asks the tier above (Cisco hierarchical
    // phase 3: the NHS's own NHS), which knows more of the overlay.
    station = config_.upstream.front().nbma;
  } else {
    return false;
  }
  // The route leads back to the requester (or to where the request came
  // from): it does not serve the target. (Back to an earlier NHS is left to
  // loop detection, RFC 2332 5.3.4.)
  if (*station == request.src_nbma || *station == frame.outer_source) {
    stats_.count_error("route next hop is the requester");
    return false;
  }
  log::debug(kLog, "resolution for " + request.dst_protocol.to_string() + " goes on to " + station->to_string() +
                       (next_hop ? " (route via " + next_hop->to_string() + ")" : " (upstream NHS)"));
  forward_request(request, *station, frame);
  return true;
}

void NextHopServer::forward_request(const nhrp::Packet& request, const IpAddress& next_hop, const NbmaFrame& frame) {
  // RFC 2332 5.3.2 / FRR: a request that arrives with hop count 0 cannot go
  // further; one that arrives with 1 goes on with 0 (the next NHS stops it).
  if (request.hop_count == 0) {
    stats_.count_error("hop count exceeded");
    send_error_indication(frame.outer_source, nhrp::ErrorCode::HopCountExceeded, 9, frame.payload,
                          request.src_protocol);
    return;
  }
  nhrp::Packet forwarded = request;
  forwarded.hop_count = static_cast<std::uint8_t>(request.hop_count - 1);
  if (nhrp::Extension* record = forwarded.find_extension(nhrp::ExtensionType::ForwardTransit)) {
    record->value.clear();
    record->cies.push_back(own_cie(config_.max_holding_time));
    record->cies.back().prefix_length = 0;  // Cisco transit records: pl 0 (NHRP-WIRE.md 7.3)
  }
  // A forwarding hub fills an empty NAT extension with the requester's post-NAT NBMA (7.6).
  if (nhrp::Extension* nat = forwarded.find_extension(nhrp::ExtensionType::CiscoNatAddress);
      nat && nat->cies.empty() && nat->value.empty() && frame.outer_source != request.src_nbma) {
    nhrp::Cie cie;
    cie.prefix_length = static_cast<std::uint8_t>(request.src_protocol.bit_width());
    cie.nbma = frame.outer_source;
    cie.protocol = request.src_protocol;
    nat->cies.push_back(cie);
  }
  regenerate_auth(forwarded, config_.auth_password);
  const MonotonicTime now = clock_.now();
  if (forwarded_.size() >= kMaxForwarded) {
    std::erase_if(forwarded_, [now](const auto& entry) { return entry.second.deadline <= now; });
  }
  if (forwarded_.size() < kMaxForwarded) {
    forwarded_[{request.request_id, request.src_protocol}] = Forwarded{now + kForwardedLifetime, frame.outer_source};
  } else {
    stats_.count_error("forwarded request table full");
  }
  log::debug(kLog, "forwarding resolution for " + request.dst_protocol.to_string() + " to " + next_hop.to_string());
  send(next_hop, forwarded);
}

void NextHopServer::handle_resolution_reply(const NbmaFrame& frame, const nhrp::Packet& reply) {
  if (!authenticated(frame, reply)) return;
  // A reply routed through the hub goes on toward the requester, whose
  // address is the reply's source (RFC 2332 5.2.2, 5.3.3) — only for a
  // request this hub forwarded, and only once.
  if (reply.src_protocol == config_.protocol) {
    stats_.count_error("resolution reply for the hub itself");
    return;
  }
  const auto request = forwarded_.find({reply.request_id, reply.src_protocol});
  if (request == forwarded_.end() || request->second.deadline <= clock_.now()) {
    stats_.count_error("resolution reply to no forwarded request");
    return;
  }
  const IpAddress previous_hop = request->second.previous_hop;
  forwarded_.erase(request);
  if (lists_station(reply.find_extension(nhrp::ExtensionType::ReverseTransit), config_.nbma)) {
    stats_.count_error("loop detected");
    return;
  }
  if (reply.hop_count == 0) {
    stats_.count_error("resolution reply with no route to the requester");
    return;
  }
  nhrp::Packet forwarded = reply;
  forwarded.hop_count = static_cast<std::uint8_t>(reply.hop_count - 1);
  if (nhrp::Extension* record = forwarded.find_extension(nhrp::ExtensionType::ReverseTransit)) {
    record->value.clear();
    record->cies.push_back(own_cie(config_.max_holding_time));
    record->cies.back().prefix_length = 0;
  }
  regenerate_auth(forwarded, config_.auth_password);
  // Back the way the request came (RFC 2332 5.3.3): the requester itself,
  // or the NHS of the tier below that forwarded it here.
  send(previous_hop, forwarded);
}

}  // namespace advpnd::hub
