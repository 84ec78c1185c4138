#include "spoke/peer_cache.h"

#include <algorithm>

namespace advpnd::spoke {

void PeerCache::upsert(const PeerBinding& binding, MonotonicTime now) {
  if (!entries_.contains(binding.protocol)) make_room(now);
  if (max_entries_ == 0) return;
  entries_[binding.protocol] = binding;
}

void PeerCache::make_room(MonotonicTime now) {
  if (entries_.size() < max_entries_) return;
  std::erase_if(entries_, [now](const auto& entry) { return entry.second.expires <= now; });
  if (entries_.size() < max_entries_ || entries_.empty()) return;
  auto soonest = std::min_element(entries_.begin(), entries_.end(),
                                  [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
  entries_.erase(soonest);
}

std::vector<PeerBinding> PeerCache::erase(const IpAddress& protocol, std::uint8_t prefix_length) {
  const unsigned width = protocol.bit_width();
  const unsigned length = (prefix_length == 0 || prefix_length >= width) ? width : prefix_length;
  std::vector<PeerBinding> removed;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->first.shares_prefix(protocol, length)) {
      removed.push_back(it->second);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

std::optional<PeerBinding> PeerCache::find(const IpAddress& protocol, MonotonicTime now) const {
  auto it = entries_.find(protocol);
  if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
  return it->second;
}

std::vector<PeerBinding> PeerCache::all(MonotonicTime now) const {
  std::vector<PeerBinding> out;
  for (const auto& [protocol, binding] : entries_) {
    if (binding.expires > now) out.push_back(binding);
  }
  return out;
}

}  // namespace advpnd::spoke
