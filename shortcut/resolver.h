// What the shortcut layer needs from the NHRP client: resolve a protocol
// address through the NHS (RFC 2332 5.2.1), asynchronously. The spoke's
// resolution client implements it (retries, negative cache, coalescing).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/ip_address.h"
#include "nhrp/types.h"
#include "shortcut/prefix.h"

namespace advpnd::shortcut {

struct Resolution {
  bool ok = false;
  nhrp::CieCode code = nhrp::CieCode::Success;  // the reply's code when !ok
  std::string error;                            // why, when !ok (timeout, error indication ...)
  Prefix prefix;                                // what the answer covers
  IpAddress peer_nbma;                          // NAT-corrected (NHRP-WIRE.md 7.6)
  IpAddress peer_protocol;
  std::uint16_t holding_time = 0;  // seconds
  std::uint16_t mtu = 0;           // 0 = default
};

class Resolver {
 public:
  using Done = std::function<void(const Resolution&)>;
  virtual ~Resolver() = default;
  // `done` runs exactly once, on the event loop, never inside resolve().
  virtual void resolve(const IpAddress& target, Done done) = 0;
};

}  // namespace advpnd::shortcut
