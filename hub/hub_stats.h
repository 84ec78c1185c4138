// Counters behind `advpnctl show stats`: per packet type received and sent,
// and errors by reason (issue: "errors by reason"), plus the store's.
#pragma once

#include <cstdint>

#include "nhrp/packet_stats.h"

namespace advpnd::hub {

struct HubStats : nhrp::PacketStats {
  std::uint64_t commits = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t sweeps = 0;  // expiry sweeps the store has finished
  std::uint64_t data_frames_ignored = 0;
  // Refreshes that changed nothing but the expiry: the binding row is
  // rewritten, no audit row is (issue #10 item 2; README "Storage").
  std::uint64_t refreshes_unchanged = 0;
  // Resolution answers whose requester could not be remembered for a purge
  // (the resolver table is full).
  std::uint64_t resolvers_untracked = 0;
  // Trust (issue #12): registrations refused by the hub's limits and address
  // policy (each also audited, AuditKind::Refused, and logged, throttled).
  std::uint64_t refused_oversize = 0;     // requests with more than max_cies_per_request CIEs
  std::uint64_t refused_rate = 0;         // CIEs past the per-source token bucket (not audited)
  std::uint64_t refused_spoke_limit = 0;  // CIEs past max_bindings_per_spoke
  std::uint64_t refused_policy = 0;       // CIEs outside the address policy
  // Issue #12 part 2 (with an IPsec peers seam): NHRP packets from a source
  // with no established IKE_SA (dropped unanswered, not audited: a flood must
  // not turn into disk writes), and CIEs outside their IKE identity's policy.
  std::uint64_t refused_no_sa = 0;
  std::uint64_t refused_identity = 0;
};

}  // namespace advpnd::hub
