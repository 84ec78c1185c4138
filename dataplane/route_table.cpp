#include "dataplane/route_table.h"

#include <algorithm>
#include <functional>

namespace advpnd::dataplane {

void RouteTable::note_length(std::uint8_t length) {
  if (std::find(lengths_.begin(), lengths_.end(), length) != lengths_.end()) return;
  lengths_.push_back(length);
  std::sort(lengths_.begin(), lengths_.end(), std::greater<>());
}

void RouteTable::set(const shortcut::Prefix& prefix, const Route& route) {
  // Prefix::of keeps the address masked; masking again costs nothing and
  // protects against a hand-built Prefix.
  const std::uint8_t length = std::min<std::uint8_t>(prefix.length, static_cast<std::uint8_t>(kMaxLength));
  auto [it, added] = by_length_[length].insert_or_assign(prefix.address.masked(length), route);
  (void)it;
  if (added) {
    ++size_;
    note_length(length);
  }
}

bool RouteTable::erase(const shortcut::Prefix& prefix) {
  const std::uint8_t length = std::min<std::uint8_t>(prefix.length, static_cast<std::uint8_t>(kMaxLength));
  auto& routes = by_length_[length];
  if (routes.erase(prefix.address.masked(length)) == 0) return false;
  --size_;
  if (routes.empty()) lengths_.erase(std::find(lengths_.begin(), lengths_.end(), length));
  return true;
}

const Route* RouteTable::lookup(const IpAddress& address) const {
  for (const std::uint8_t length : lengths_) {
    if (length > address.bit_width()) continue;
    const auto& routes = by_length_[length];
    auto it = routes.find(length == address.bit_width() ? address : address.masked(length));
    if (it != routes.end()) return &it->second;
  }
  return nullptr;
}

bool RouteTable::uses_peer(const IpAddress& peer_nbma) const {
  for (const std::uint8_t length : lengths_) {
    for (const auto& [prefix, route] : by_length_[length]) {
      if (route.peer_nbma == peer_nbma) return true;
    }
  }
  return false;
}

}  // namespace advpnd::dataplane
