// Identity-bound registrations (issue #12 part 2; ARCHITECTURE.md "Trust").
// With the IPsec peers seam the hub knows, for every NHRP packet, the IKE
// identity of the established IKE_SA it came through. What that identity
// may register:
//
//   - a host address: its own, when the identity is an IP address (charon
//     proved it: the IKE identity must be contained in the peer's
//     certificate, here as an IP SAN), or one its [[policy]] lists;
//   - a LAN prefix (shorter than a host): only inside one of its [[policy]]
//     prefixes. Without a policy entry an identity registers no LAN; the
//     overlap rules of registration_policy.cpp still apply on top.
//
// A claim of an address another identity holds names both identities in the
// audit row and the log line. Refusals: CIE code 4, Administratively
// Prohibited (RFC 2332 5.2.0.1), counted in refused_identity.
#include "hub/next_hop_server.h"

namespace advpnd::hub {
namespace {

std::string prefix_text(const IpAddress& protocol, std::uint8_t prefix) {
  return protocol.to_string() + "/" + std::to_string(prefix);
}

}  // namespace

const IdentityPolicy* NextHopServer::policy_of(const std::string& identity) const {
  for (const IdentityPolicy& policy : config_.identity_policies) {
    if (policy.identity == identity) return &policy;
  }
  return nullptr;
}

std::size_t NextHopServer::binding_limit(const IpsecPeer* peer) const {
  if (peer != nullptr) {
    if (const IdentityPolicy* policy = policy_of(peer->identity); policy != nullptr && policy->max_bindings) {
      return *policy->max_bindings;
    }
  }
  return config_.max_bindings_per_spoke;
}

std::optional<std::string> NextHopServer::identity_refusal(const IpsecPeer& peer, const db::BindingKey& key,
                                                           std::int64_t now) const {
  const IdentityPolicy* policy = policy_of(peer.identity);
  if (key.prefix_len >= key.protocol.bit_width()) {
    if (IpAddress::parse(peer.identity) == key.protocol) return std::nullopt;
    if (policy != nullptr) {
      for (const IpAddress& allowed : policy->addresses) {
        if (allowed == key.protocol) return std::nullopt;
      }
    }
    std::string why = key.protocol.to_string() + " is not an address of identity \"" + peer.identity + "\"";
    for (const db::Binding& holder : effective_bindings(key.protocol, key.prefix_len)) {
      if (holder.expires_at > now && !holder.identity.empty() && holder.identity != peer.identity) {
        why += "; held by identity \"" + holder.identity + "\" at " + holder.key.nbma.to_string();
        break;
      }
    }
    return why;
  }
  if (policy != nullptr) {
    for (const IdentityPolicy::Prefix& allowed : policy->prefixes) {
      if (allowed.address.size() == key.protocol.size() && key.prefix_len >= allowed.length &&
          key.protocol.shares_prefix(allowed.address, allowed.length)) {
        return std::nullopt;
      }
    }
  }
  return "LAN prefix " + prefix_text(key.protocol, key.prefix_len) + " is not in a [[policy]] prefix of identity \"" +
         peer.identity + "\"";
}

}  // namespace advpnd::hub
