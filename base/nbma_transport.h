// The NBMA transport seam: GRE frames to and from NBMA addresses. The Linux
// implementation is a raw IPv4 socket of protocol 47 (user-space GRE); the
// fake is an in-memory fabric. Both deliver frames with the *outer* source
// address, which is how NAT is detected (NHRP-WIRE.md 1.2, 7.6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/ip_address.h"
#include "base/result.h"

namespace advpnd {

struct NbmaFrame {
  IpAddress outer_source;       // as seen on the wire (post-NAT)
  IpAddress outer_destination;
  std::uint16_t gre_protocol = 0;  // 0x2001 NHRP, 0x0800 IPv4, 0x86DD IPv6
  std::uint8_t tos = 0;            // outer DSCP/ECN byte
  std::span<const std::byte> payload;  // after the GRE header; valid during the callback only
};

struct TransportStats {
  std::uint64_t frames_received = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t dropped_wrong_key = 0;   // GRE key absent or different from ours
  std::uint64_t dropped_malformed = 0;   // IP or GRE header that does not parse
  // Issue #12 part 2: GRE that did not come through IPsec (it arrived on
  // another interface than the configured IPsec one: clear GRE from the WAN).
  std::uint64_t dropped_not_ipsec = 0;
};

class NbmaTransport {
 public:
  virtual ~NbmaTransport() = default;

  // Called for each received frame that carries our GRE key. After a batch
  // of frames (one read of the socket, one loop turn) `on_batch_end` runs:
  // the hub commits its group transaction there.
  struct Handlers {
    std::function<void(const NbmaFrame&)> on_frame;
    std::function<void()> on_batch_end;
  };
  virtual void set_handlers(Handlers handlers) = 0;

  // Sends one GRE frame (our key added) to `destination`. `tos` sets the
  // outer TOS byte (NHRP: 0xC0 as Cisco; data: the inner DSCP copied).
  virtual Status<std::string> send(const IpAddress& destination, std::uint16_t gre_protocol,
                                   std::span<const std::byte> payload, std::uint8_t tos) = 0;

  [[nodiscard]] virtual const IpAddress& local_address() const = 0;
  [[nodiscard]] virtual TransportStats stats() const = 0;
};

}  // namespace advpnd
