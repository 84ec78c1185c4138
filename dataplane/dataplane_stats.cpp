#include "dataplane/dataplane_stats.h"

#include <bit>
#include <string>

#include "base/log.h"

namespace advpnd::dataplane {

void DropCounters::record(DropReason reason, std::string_view device, const IpAddress& about) {
  add(reason);
  const std::uint64_t count = (*this)[reason];
  if (!std::has_single_bit(count)) return;
  log::warning("dataplane", "on " + std::string(device) + ": dropped (" + std::string(to_string(reason)) + ")" +
                                (about.empty() ? std::string() : " about " + about.to_string()) + ", " +
                                std::to_string(count) + " so far");
}

}  // namespace advpnd::dataplane
