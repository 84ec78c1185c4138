// What an operator configures for the Next Hop Server (hub). Defaults are
// what Cisco and FRR use (NHRP-WIRE.md 8.1) unless a comment says otherwise.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/ip_address.h"
#include "hub/redirect_policy.h"
#include "base/token_bucket.h"
#include "nhrp/builders.h"

namespace advpnd::hub {

struct NhsConfig {
  IpAddress nbma;      // this hub's NBMA (underlay) address
  IpAddress protocol;  // this hub's tunnel (overlay) address
  std::uint16_t mtu = 0;  // advertised in Responder and transit CIEs; 0 = default
  // Holding time granted: the client's, bounded by max; `default` when the client sends 0.
  std::uint16_t max_holding_time = 7200;
  std::uint16_t default_holding_time = 7200;
  // RFC/Cisco: a unique binding refuses another NBMA with code 14 until it
  // expires. true: FRR-style, the newer registration replaces it (mixed networks).
  bool unique_overwrite = false;
  std::optional<std::string> auth_password;  // Cisco cleartext, <= 8 bytes
  nhrp::Dialect dialect = nhrp::Dialect::Cisco;  // what replies look like
  std::size_t max_registrations = 200000;
  TokenRate registration_rate{10.0, 20.0};  // per outer NBMA source
  std::size_t rate_limit_max_sources = 262144;
  RedirectConfig redirect;
  std::chrono::seconds sweep_interval{5};
  std::int64_t audit_retention_s = 30 * 24 * 3600;
  // Purge Requests to stations given a binding: retransmitted until a Purge
  // Reply arrives, at most this many times (RFC 2332 5.2.5: "a local matter").
  int purge_attempts = 3;
  std::chrono::seconds purge_retry{1};
};

}  // namespace advpnd::hub
