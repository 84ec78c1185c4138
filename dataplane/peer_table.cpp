#include "dataplane/peer_table.h"

namespace advpnd::dataplane {

PeerStats* PeerTable::find_or_add(const IpAddress& peer, MonotonicTime now) {
  if (auto it = peers_.find(peer); it != peers_.end()) return &it->second;
  if (peers_.size() >= max_peers_) forget_idle(now);
  if (peers_.size() >= max_peers_) return nullptr;
  return &peers_[peer];
}

const PeerStats* PeerTable::find(const IpAddress& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

void PeerTable::forget_idle(MonotonicTime now) {
  last_ = nullptr;  // the cached entry may go
  std::erase_if(peers_, [&](const auto& entry) { return now - entry.second.last_used() >= forget_after_; });
}

}  // namespace advpnd::dataplane
