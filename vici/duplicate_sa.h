// One IKE_SA per spoke pair (issue #10 item 4). When both spokes got a
// redirect at once, both initiate: each ends up with the SA it initiated
// (its per-peer connection) and the one the other initiated (to its
// responder template), and strongSwan keeps both (it has no check for a
// simultaneous initiation from both ends). The tie-break, applied by both
// ends to what list-sas shows, so both reach the same verdict without a
// message: the SA initiated by the end with the LOWER NBMA address wins;
// the other end terminates the one it initiated itself. Only once the
// winner's CHILD_SA is installed (make before break: traffic never waits),
// and one-way traffic never meets it (one initiator, one SA). "Installed"
// means installed here for kDuplicateGrace already: the peer installs its
// half of the SA it initiated only when our IKE_AUTH answer reaches it, and
// until then it may be sending through the SA we would drop.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/ip_address.h"
#include "vici/sa_list.h"

namespace advpnd::vici {

inline constexpr std::uint64_t kDuplicateGraceSeconds = 2;

// A CHILD_SA of `child_name` in `sa` installed for the grace period.
[[nodiscard]] inline bool installed_for_grace(const IkeSa& sa, std::string_view child_name) {
  for (const ChildSa& child : sa.children) {
    if (child.name == child_name && child.installed() && child.install_time.value_or(0) >= kDuplicateGraceSeconds) {
      return true;
    }
  }
  return false;
}

// The IKE_SA unique IDs this end must terminate among `sas` (all of
// list-sas; `carries` picks the peer's, whatever connection charon matched
// them to: an incoming IKE_SA from a peer we have a connection for lands on
// that connection, not on the template): the ones we initiated, when one
// the peer initiated is installed too and the peer's address is lower than
// ours. `local` empty: each SA's own local_host is compared.
template <typename Carries>
[[nodiscard]] std::vector<std::uint64_t> duplicates_to_drop(const std::vector<IkeSa>& sas, std::string_view child_name,
                                                            const IpAddress& local, const IpAddress& peer,
                                                            Carries carries) {
  std::vector<std::uint64_t> ours;
  bool theirs_installed = false;
  IpAddress local_seen = local;
  for (const IkeSa& sa : sas) {
    if (!carries(sa) || !sa.has_installed_child(child_name) || sa.unique_id == 0) continue;
    if (!sa.initiator) {
      theirs_installed = theirs_installed || installed_for_grace(sa, child_name);
      continue;
    }
    ours.push_back(sa.unique_id);
    if (local_seen.empty()) {
      if (auto parsed = IpAddress::parse(sa.local_host)) local_seen = *parsed;
    }
  }
  if (ours.empty() || !theirs_installed || local_seen.empty() || !(peer < local_seen)) return {};
  return ours;
}

}  // namespace advpnd::vici
