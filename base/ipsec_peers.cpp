#include "base/ipsec_peers.h"

#include <utility>

namespace advpnd {

void IpsecPeerTable::upsert(IpsecPeer peer) {
  const std::uint64_t id = peer.ike_sa;
  by_sa_[id] = std::move(peer);
  reindex();
}

void IpsecPeerTable::remove(std::uint64_t ike_sa) {
  if (by_sa_.erase(ike_sa) != 0) reindex();
}

void IpsecPeerTable::clear() {
  by_sa_.clear();
  by_source_.clear();
}

const IpsecPeer* IpsecPeerTable::find(const IpAddress& source) const {
  const auto it = by_source_.find(source);
  if (it == by_source_.end() || it->second == 0) return nullptr;
  const auto peer = by_sa_.find(it->second);
  return peer == by_sa_.end() ? nullptr : &peer->second;
}

std::vector<IpsecPeer> IpsecPeerTable::peers() const {
  std::vector<IpsecPeer> out;
  out.reserve(by_sa_.size());
  for (const auto& [id, peer] : by_sa_) out.push_back(peer);
  return out;
}

// Rebuilt whole on every change: IKE_SAs come and go far less often than
// packets arrive, and a few thousand entries take microseconds.
void IpsecPeerTable::reindex() {
  by_source_.clear();
  const auto claim = [this](const IpAddress& source, const IpsecPeer& peer) {
    if (source.empty()) return;
    auto [it, inserted] = by_source_.try_emplace(source, peer.ike_sa);
    if (inserted || it->second == peer.ike_sa || it->second == 0) return;
    // Two IKE_SAs for one source: the same identity (both ends initiated at
    // once, or a rekey's overlap) is one peer; different identities are
    // ambiguous and refused.
    if (by_sa_.at(it->second).identity != peer.identity) it->second = 0;
  };
  for (const auto& [id, peer] : by_sa_) {
    claim(peer.ike_address, peer);
    for (const IpAddress& inner : peer.inner_sources) claim(inner, peer);
  }
}

}  // namespace advpnd
