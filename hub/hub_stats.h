// Counters behind `advpnctl show stats`: per packet type received and sent,
// and errors by reason (issue: "errors by reason").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "nhrp/types.h"

namespace advpnd::hub {

struct HubStats {
  std::array<std::uint64_t, nhrp::kMaxPacketType + 1> received{};
  std::array<std::uint64_t, nhrp::kMaxPacketType + 1> sent{};
  std::map<std::string, std::uint64_t> errors;  // reason -> count
  std::uint64_t commits = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t data_frames_ignored = 0;

  void count_received(nhrp::PacketType type) { ++received[static_cast<std::size_t>(type)]; }
  void count_sent(nhrp::PacketType type) { ++sent[static_cast<std::size_t>(type)]; }
  void count_error(const std::string& reason) { ++errors[reason]; }
  [[nodiscard]] std::uint64_t error_count(const std::string& reason) const {
    auto it = errors.find(reason);
    return it == errors.end() ? 0 : it->second;
  }
};

}  // namespace advpnd::hub
