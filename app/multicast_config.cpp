#include "app/multicast_config.h"

namespace advpnd::app {
namespace {
constexpr double kMaxRate = 1e6;  // frames per second: beyond any IGP
}  // namespace

void read_multicast(TomlReader& in, MulticastRole role, dataplane::MulticastConfig& config) {
  if (auto v = in.boolean("multicast", "enabled")) config.enabled = *v;
  if (auto v = in.number("multicast", "rate_per_second", 0.001, kMaxRate)) config.total.per_second = *v;
  if (auto v = in.number("multicast", "burst", 1, kMaxRate)) config.total.burst = *v;
  // A spoke replicates nothing for others: the per-spoke bound is the hub's.
  // Left unread there, TomlReader::finish names them as unknown keys.
  if (role == MulticastRole::Hub) {
    if (auto v = in.number("multicast", "per_spoke_rate_per_second", 0.001, kMaxRate))
      config.per_source.per_second = *v;
    if (auto v = in.number("multicast", "per_spoke_burst", 1, kMaxRate)) config.per_source.burst = *v;
  }
}

}  // namespace advpnd::app
