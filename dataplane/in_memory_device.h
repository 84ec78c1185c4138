// InMemoryDevice: the test double of a TUN device (packet_device.h). A test
// plays the host: inject() is "the host sent these packets into the tunnel"
// (one burst), written() is what the dataplane handed back to the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/packet_device.h"

namespace advpnd::dataplane {

class InMemoryDevice final : public PacketDevice {
 public:
  explicit InMemoryDevice(std::string name = "mem0", std::uint16_t mtu = 1476) : name_(std::move(name)), mtu_(mtu) {}

  void set_handler(BurstHandler handler) override { handler_ = std::move(handler); }

  Status<std::string> write(std::span<const std::byte> packet) override {
    if (fail_writes_) return fail(name_ + ": write failed (simulated)");
    written_.emplace_back(packet.begin(), packet.end());
    return {};
  }

  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] std::uint16_t mtu() const override { return mtu_; }

  // One burst, as one readable event of a TUN would deliver it.
  void inject(const std::vector<std::vector<std::byte>>& burst) {
    std::vector<std::span<const std::byte>> views(burst.begin(), burst.end());
    if (handler_) handler_(views);
  }
  void inject(std::span<const std::byte> packet) {
    const std::span<const std::byte> one[] = {packet};
    if (handler_) handler_(one);
  }

  [[nodiscard]] const std::vector<std::vector<std::byte>>& written() const { return written_; }
  std::vector<std::vector<std::byte>> take_written() { return std::exchange(written_, {}); }
  void set_fail_writes(bool fail_writes) { fail_writes_ = fail_writes; }

 private:
  std::string name_;
  std::uint16_t mtu_;
  BurstHandler handler_;
  std::vector<std::vector<std::byte>> written_;
  bool fail_writes_ = false;
};

}  // namespace advpnd::dataplane
