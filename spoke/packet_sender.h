// How every part of the NHC puts NHRP on the wire, and the counters behind
// `advpnctl show stats` on a spoke: packets received and sent per type, and
// errors by reason (malformed packets by decode error, authentication
// failures, replies that match nothing ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/nbma_transport.h"
#include "nhrp/packet.h"
#include "nhrp/packet_stats.h"
#include "nhrp/types.h"

namespace advpnd::spoke {

// Cisco originates NHRP with outer TOS 0xC0 (NHRP-WIRE.md 1.1).
inline constexpr std::uint8_t kNhrpTos = 0xC0;

using NhcStats = nhrp::PacketStats;

// Encodes a packet and sends it over the transport as GRE protocol 0x2001,
// counting what went out and what failed. Shared by the registration
// machines, the resolution client and the responder.
class PacketSender {
 public:
  PacketSender(NbmaTransport& transport, NhcStats& stats) : transport_(transport), stats_(stats) {}
  PacketSender(const PacketSender&) = delete;
  PacketSender& operator=(const PacketSender&) = delete;

  // True when the transport accepted the frame (not that it arrived).
  bool send(const IpAddress& destination, const nhrp::Packet& packet);

  [[nodiscard]] NhcStats& stats() { return stats_; }
  [[nodiscard]] const IpAddress& local_address() const { return transport_.local_address(); }

 private:
  NbmaTransport& transport_;
  NhcStats& stats_;
  std::vector<std::byte> buffer_;
};

}  // namespace advpnd::spoke
