// RouteTable: the spoke's shortcut routes, overlay prefix -> the peer that
// carries it (its NBMA address and the MTU from the Resolution Reply's CIE,
// RFC 2332 5.2.0.1). Longest prefix wins; what no route covers follows the
// default route to the hub, which the dataplane keeps outside this table.
//
// Lookup is routing::PrefixMap's: one hash probe per prefix length in use,
// longest first; the table of a spoke holds a few host routes (/32) and LAN
// prefixes, so that is one to three probes per packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/ip_address.h"
#include "routing/prefix_map.h"
#include "shortcut/prefix.h"

namespace advpnd::dataplane {

struct Route {
  IpAddress peer_nbma;
  std::uint16_t mtu = 0;  // from the CIE; 0: the dataplane's default
};

class RouteTable {
 public:
  // Adds or replaces the route of `prefix`.
  void set(const shortcut::Prefix& prefix, const Route& route);
  // False when there was no such route.
  bool erase(const shortcut::Prefix& prefix);
  // The most specific route covering `address`, or null.
  [[nodiscard]] const Route* lookup(const IpAddress& address) const;
  // True while some route still points at `peer_nbma`.
  [[nodiscard]] bool uses_peer(const IpAddress& peer_nbma) const;

  [[nodiscard]] std::size_t size() const { return routes_.size(); }
  [[nodiscard]] bool empty() const { return routes_.empty(); }

 private:
  routing::PrefixMap<Route> routes_;
};

}  // namespace advpnd::dataplane
