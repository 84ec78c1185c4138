// Counters behind `advpnctl show stats`: per packet type received and sent,
// and errors by reason (issue: "errors by reason"), plus the store's.
#pragma once

#include <cstdint>

#include "nhrp/packet_stats.h"

namespace advpnd::hub {

struct HubStats : nhrp::PacketStats {
  std::uint64_t commits = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t data_frames_ignored = 0;
};

}  // namespace advpnd::hub
