// The hub's address policy for registrations (issue #12 "Trust", part 1):
// what a spoke may register, whoever it is. Identities (the IPsec peer
// behind a registration) are not known here yet; the rules hold for every
// spoke alike:
//
//   - a spoke's own address (the request's source protocol address, and a
//     host CIE) lies in the overlay subnet, and is not the hub's;
//   - a CIE with a prefix shorter than a host registers the networks behind
//     the spoke (RFC 2332 5.2.1, 5.2.3): only with allow_lan_prefixes, never
//     overlapping the overlay subnet, and never overlapping (equal to,
//     inside, or covering) a prefix another spoke holds: the attack was a
//     second spoke registering 192.168.1.0/25 inside another's
//     192.168.1.0/24 and taking its traffic.
//
// "Another spoke" is another station: a different claimed NBMA, or the same
// one heard from a different outer (post-NAT) address. Refreshing the very
// same binding always passes (a spoke whose NAT mapping moved refreshes its
// own keys; registration.cpp then updates its post-NAT NBMA).
//
// Refusals are answered with CIE code 4, Administratively Prohibited
// (RFC 2332 5.2.0.1), by register_cie().
#include <algorithm>
#include <set>

#include "hub/next_hop_server.h"

namespace advpnd::hub {
namespace {

std::string prefix_text(const IpAddress& protocol, std::uint8_t prefix) {
  return protocol.to_string() + "/" + std::to_string(prefix);
}

bool overlaps(const db::BindingKey& a, const db::BindingKey& b) {
  return a.protocol.size() == b.protocol.size() &&
         a.protocol.shares_prefix(b.protocol, std::min(a.prefix_len, b.prefix_len));
}

}  // namespace

std::optional<std::string> NextHopServer::source_refusal(const nhrp::Packet& request) const {
  const IpAddress& source = request.src_protocol;
  if (source.size() != config_.protocol.size()) return std::nullopt;  // each CIE is refused for its family
  auto why = address_refusal(source, static_cast<std::uint8_t>(source.bit_width()));
  if (!why) return std::nullopt;
  return "source protocol address: " + *why;
}

std::optional<std::string> NextHopServer::address_refusal(const IpAddress& protocol, std::uint8_t prefix) const {
  const std::string overlay =
      prefix_text(config_.protocol.masked(config_.overlay_prefix_length), config_.overlay_prefix_length);
  if (prefix >= protocol.bit_width()) {
    if (protocol == config_.protocol) return protocol.to_string() + " is the hub's own address";
    if (!protocol.shares_prefix(config_.protocol, config_.overlay_prefix_length)) {
      return protocol.to_string() + " is outside the overlay subnet " + overlay;
    }
    return std::nullopt;
  }
  if (!config_.allow_lan_prefixes) {
    return "LAN prefix " + prefix_text(protocol, prefix) + " not allowed (registration.allow_lan_prefixes)";
  }
  if (protocol.shares_prefix(config_.protocol, std::min(prefix, config_.overlay_prefix_length))) {
    return "LAN prefix " + prefix_text(protocol, prefix) + " overlaps the overlay subnet " + overlay;
  }
  return std::nullopt;
}

std::optional<std::string> NextHopServer::overlap_refusal(const db::BindingKey& key, const IpAddress& outer,
                                                          std::int64_t now) const {
  if (key.prefix_len >= key.protocol.bit_width()) return std::nullopt;  // hosts: code 14 (unique) decides
  std::set<db::BindingKey> keys;
  for (const db::Binding* binding : cache_.overlapping(key.protocol, key.prefix_len)) keys.insert(binding->key);
  // Batches not yet committed: one loop turn's writes each, scanned only
  // for LAN prefixes (rare, and rate limited per CIE).
  const auto scan = [&](const Batch& batch) {
    for (const auto& [staged, after] : batch.after) {
      if (overlaps(staged, key)) keys.insert(staged);
    }
  };
  scan(open_);
  for (const Batch& batch : in_flight_) scan(batch);
  for (const db::BindingKey& other : keys) {
    if (other == key) continue;  // a refresh of this very binding
    const db::Binding* holder = effective_binding(other);
    if (holder == nullptr || holder->expires_at <= now) continue;
    if (holder->key.nbma == key.nbma && holder->post_nat_nbma == outer) continue;  // the same spoke's own
    return "prefix " + prefix_text(key.protocol, key.prefix_len) + " overlaps " +
           prefix_text(other.protocol, other.prefix_len) + " held by " + other.nbma.to_string() +
           (holder->post_nat_nbma != other.nbma ? " (NAT: " + holder->post_nat_nbma.to_string() + ")" : "");
  }
  return std::nullopt;
}

}  // namespace advpnd::hub
