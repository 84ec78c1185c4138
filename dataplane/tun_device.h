// TunDevice: the Linux PacketDevice, a TUN interface (IFF_TUN | IFF_NO_PI:
// raw IP packets, no packet-information header; Documentation/networking/
// tuntap.rst). open() creates the interface, sets its IPv4 address and
// prefix, MTU and transmit queue length and brings it up, all through
// ioctl(2) on the TUN fd and an AF_INET control socket (no `ip` command).
// The interface lives as long as the object: closing the fd removes it.
//
// Reads: Linux TUN has no recvmmsg, so each readable event reads up to
// `burst` packets with read(2) into preallocated buffers and hands them to
// the handler as one burst (the caller then sends them with one sendmmsg).
// The watch is level-triggered: packets beyond a burst wait for the next
// loop turn, so the NBMA side is served in between. One queue only:
// IFF_MULTI_QUEUE would only help with one reader thread per queue.
//
// IPv6 is switched off on the device by default through its sysctl
// (/proc/sys/net/ipv6/conf/NAME/disable_ipv6; absent when the kernel has no
// IPv6, which is fine).
//
// Buffers are 65535 bytes each (the largest IPv4 datagram), so no packet is
// ever truncated, whatever MTU the operator sets on the interface later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"
#include "dataplane/packet_device.h"
#include "platform/event_loop.h"
#include "platform/unique_fd.h"

namespace advpnd::dataplane {

struct TunConfig {
  std::string name = "advpn0";  // at most 15 bytes; "" lets the kernel pick tunN
  IpAddress address;            // the overlay address (IPv4); empty: none is set
  std::uint8_t prefix_length = 24;
  std::uint16_t mtu = 1476;              // 1500 - 20 (outer IPv4) - 4 (GRE); 1472 with a GRE key
  std::uint32_t tx_queue_length = 1000;  // packets the kernel queues for us; 0 keeps its default (500)
  std::size_t burst = 32;                // packets read per readable event (1..kMaxBurst)
  // The dataplane carries IPv4 only (so far): without IPv6 on the device the
  // kernel sends no router solicitations or MLD reports into it.
  bool disable_ipv6 = true;
};

class TunDevice final : public PacketDevice {
 public:
  static constexpr std::size_t kMaxBurst = 256;
  static constexpr std::size_t kBufferSize = 65535;

  // Fails with a message naming the device, e.g. without CAP_NET_ADMIN, or
  // when /dev/net/tun is missing. `loop` must outlive the device.
  static Result<std::unique_ptr<TunDevice>, std::string> open(platform::EventLoop& loop, TunConfig config);
  ~TunDevice() override;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;

  void set_handler(BurstHandler handler) override { handler_ = std::move(handler); }
  Status<std::string> write(std::span<const std::byte> packet) override;
  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] std::uint16_t mtu() const override { return config_.mtu; }

  // Reads one burst now and hands it to the handler (what a readable event
  // does); returns the packets read.
  std::size_t read_burst();

  [[nodiscard]] int fd() const { return fd_.get(); }
  // The interface's index: the kernel's routes through the overlay name it.
  [[nodiscard]] std::uint32_t ifindex() const { return ifindex_; }
  [[nodiscard]] std::uint64_t packets_read() const { return packets_read_; }
  [[nodiscard]] std::uint64_t read_errors() const { return read_errors_; }
  [[nodiscard]] std::uint64_t write_errors() const { return write_errors_; }

 private:
  TunDevice(TunConfig config, std::string name, platform::UniqueFd fd);

  TunConfig config_;
  std::string name_;
  platform::UniqueFd fd_;
  std::unique_ptr<platform::FdWatch> watch_;
  BurstHandler handler_;
  std::uint32_t ifindex_ = 0;
  std::vector<std::byte> arena_;  // burst * kBufferSize
  std::vector<std::span<const std::byte>> packets_;
  std::uint64_t packets_read_ = 0;
  std::uint64_t read_errors_ = 0;
  std::uint64_t write_errors_ = 0;
};

}  // namespace advpnd::dataplane
