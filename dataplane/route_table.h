// RouteTable: the spoke's shortcut routes, overlay prefix -> the peer that
// carries it (its NBMA address and the MTU from the Resolution Reply's CIE,
// RFC 2332 5.2.0.1). Longest prefix wins; what no route covers follows the
// default route to the hub, which the dataplane keeps outside this table.
//
// Lookup is one hash probe per prefix length in use, longest first: the
// table of a spoke holds a few host routes (/32) and LAN prefixes, so that is
// one to three probes per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/ip_address.h"
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

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

 private:
  static constexpr std::size_t kMaxLength = 128;
  void note_length(std::uint8_t length);

  // by_length_[n]: masked prefix -> route, for prefixes of length n.
  std::array<std::unordered_map<IpAddress, Route>, kMaxLength + 1> by_length_;
  std::vector<std::uint8_t> lengths_;  // lengths in use, longest first
  std::size_t size_ = 0;
};

}  // namespace advpnd::dataplane
