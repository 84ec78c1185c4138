// The dataplane seam as the shortcut layer sees it (ARCHITECTURE.md): which
// NBMA next hop carries an overlay prefix, and per-peer counters. The
// default route of the overlay always points at the hub; a shortcut adds a
// more specific route to a peer's NBMA address and removes it again.
// Implementations: the user-space TUN + raw GRE dataplane, the kernel mGRE
// dataplane (later), and a fake for tests.
#pragma once

#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "base/ip_address.h"
#include "shortcut/prefix.h"

namespace advpnd::shortcut {

struct PeerCounters {
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

class ShortcutDataplane {
 public:
  virtual ~ShortcutDataplane() = default;
  // From now on, packets to `prefix` go straight to `peer_nbma`. Must not
  // drop packets in flight: the switch is one route update.
  virtual void route_via_peer(const Prefix& prefix, const IpAddress& peer_nbma, std::uint16_t mtu) = 0;
  // `prefix` follows the default route (the hub) again.
  virtual void route_via_hub(const Prefix& prefix) = 0;
  // Traffic exchanged with `peer_nbma` on the direct path since the route was added.
  [[nodiscard]] virtual std::optional<PeerCounters> counters(const IpAddress& peer_nbma) const = 0;
};

}  // namespace advpnd::shortcut
