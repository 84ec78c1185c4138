// What an operator configures for the Next Hop Server (hub). Defaults are
// what Cisco and FRR use (NHRP-WIRE.md 8.1) unless a comment says otherwise.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/token_bucket.h"
#include "hub/redirect_policy.h"
#include "nhrp/builders.h"

namespace advpnd::hub {

// An NHS above this one (issue #11 "hierarchy", Cisco hierarchical phase 3):
// a regional hub registers its own address there, forwards there the
// resolutions it cannot answer and has no route for, and reaches the
// overlay address `protocol` at `nbma` (it holds no binding for it).
struct UpstreamNhs {
  IpAddress protocol;
  IpAddress nbma;
};

// Issue #12 part 2: what one IKE identity may register, beyond the default
// (an identity that is an IP address, which charon verified against the
// certificate's SAN, may register that address as a host and nothing else).
// Hub config `[[policy]]`.
struct IdentityPolicy {
  std::string identity;              // the IKE identity, exactly as charon reports it (remote-id)
  std::vector<IpAddress> addresses;  // host addresses it may register (besides its own, if an IP)
  struct Prefix {
    IpAddress address;  // masked
    std::uint8_t length = 0;
  };
  std::vector<Prefix> prefixes;             // LAN prefixes: a CIE prefix must lie inside one
  std::optional<std::size_t> max_bindings;  // instead of max_bindings_per_spoke
};

struct NhsConfig {
  IpAddress nbma;         // this hub's NBMA (underlay) address
  IpAddress protocol;     // this hub's tunnel (overlay) address
  std::uint16_t mtu = 0;  // advertised in Responder and transit CIEs; 0 = default
  // Holding time granted: the client's, bounded by max; `default` when the client sends 0.
  std::uint16_t max_holding_time = 7200;
  std::uint16_t default_holding_time = 7200;
  // RFC/Cisco: a unique binding refuses another NBMA with code 14 until it
  // expires. true: FRR-style, the newer registration replaces it (mixed networks).
  bool unique_overwrite = false;
  std::optional<std::string> auth_password;      // Cisco cleartext, <= 8 bytes
  nhrp::Dialect dialect = nhrp::Dialect::Cisco;  // what replies look like
  std::size_t max_registrations = 200000;
  // Tokens per outer NBMA source; a Registration Request takes one per CIE
  // (issue #12: a limit on requests let one request carry a flood).
  TokenRate registration_rate{10.0, 20.0};
  // Trust (issue #12), what one spoke may register. A refusal is answered
  // with CIE code 4, Administratively Prohibited (RFC 2332 5.2.0.1), holding
  // time 0, counted (HubStats) and audited (AuditKind::Refused).
  // The overlay subnet, protocol/overlay_prefix_length: a spoke's own
  // (host) address must lie in it; a LAN prefix must not overlap it.
  std::uint8_t overlay_prefix_length = 24;
  // A request with more CIEs is refused as a whole.
  std::size_t max_cies_per_request = 8;
  // Bindings per spoke, i.e. per outer (post-NAT) NBMA source: the address
  // the hub hears a spoke from and sends to, which a claimed NBMA cannot
  // forge. A CIE that would add one more is refused; refreshes never are.
  std::size_t max_bindings_per_spoke = 16;
  // CIEs with a prefix shorter than a host (RFC 2332 5.2.1: the networks
  // behind a spoke). Never one overlapping a prefix another spoke holds.
  bool allow_lan_prefixes = true;
  // With an IPsec peers seam (NextHopServer::set_ipsec_peers; hub config
  // [ipsec] provider = "strongswan"): NHRP only from a source with an
  // established IKE_SA, each binding bound to that SA's identity.
  std::vector<IdentityPolicy> identity_policies;
  std::size_t rate_limit_max_sources = 262144;
  RedirectConfig redirect;
  std::chrono::seconds sweep_interval{5};
  std::int64_t audit_retention_s = 30 * 24 * 3600;
  // Purge Requests to stations given a binding: retransmitted until a Purge
  // Reply arrives, at most this many times (RFC 2332 5.2.5: "a local matter").
  int purge_attempts = 3;
  std::chrono::seconds purge_retry{1};
  // NHSs of the tier above, by preference (empty: this hub is the top).
  std::vector<UpstreamNhs> upstream;
};

}  // namespace advpnd::hub
