// PacketDevice: the overlay side of the user-space dataplane, the seam
// between the dataplane and the host's IP stack (ARCHITECTURE.md "Two
// dataplanes"). The Linux implementation is a TUN device (tun_device.h); the
// fake is an in-memory device (in_memory_device.h) tests inject into and read
// from, as wireguard-go pairs tun/tun.go with tun/tuntest.
//
// Contract:
// - Packets are raw IP packets, no link-layer header, no packet info
//   (IFF_TUN | IFF_NO_PI).
// - Reads are delivered in bursts: the handler runs once per burst with the
//   packets in the order the host sent them; the spans are valid during the
//   call only. One burst is what one readable event yields (bounded, so one
//   busy sender cannot starve the loop).
// - write() hands one packet to the host's stack, synchronously; it never
//   blocks. A failure is a value naming the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/result.h"

namespace advpnd::dataplane {

using PacketBurst = std::span<const std::span<const std::byte>>;

class PacketDevice {
 public:
  using BurstHandler = std::function<void(PacketBurst packets)>;

  virtual ~PacketDevice() = default;

  virtual void set_handler(BurstHandler handler) = 0;
  virtual Status<std::string> write(std::span<const std::byte> packet) = 0;

  [[nodiscard]] virtual const std::string& name() const = 0;
  // The device MTU: the largest packet the host sends into it.
  [[nodiscard]] virtual std::uint16_t mtu() const = 0;
};

}  // namespace advpnd::dataplane
