// Counters of NHRP packets by type, in and out, and of errors by reason:
// what `advpnctl show stats` prints for a hub (hub::HubStats) and a spoke
// (spoke::NhcStats) alike.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "nhrp/types.h"

namespace advpnd::nhrp {

struct PacketStats {
  std::array<std::uint64_t, kMaxPacketType + 1> received{};
  std::array<std::uint64_t, kMaxPacketType + 1> sent{};
  std::map<std::string, std::uint64_t> errors;  // reason -> count

  void count_received(PacketType type) { ++received[static_cast<std::size_t>(type)]; }
  void count_sent(PacketType type) { ++sent[static_cast<std::size_t>(type)]; }
  void count_error(const std::string& reason) { ++errors[reason]; }
  [[nodiscard]] std::uint64_t error_count(const std::string& reason) const {
    auto it = errors.find(reason);
    return it == errors.end() ? 0 : it->second;
  }
  [[nodiscard]] std::uint64_t sent_count(PacketType type) const { return sent[static_cast<std::size_t>(type)]; }
  [[nodiscard]] std::uint64_t received_count(PacketType type) const { return received[static_cast<std::size_t>(type)]; }
};

}  // namespace advpnd::nhrp
