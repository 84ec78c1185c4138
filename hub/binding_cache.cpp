#include "hub/binding_cache.h"

#include <algorithm>

namespace advpnd::hub {
namespace {

void erase_key(std::vector<db::BindingKey>& keys, const db::BindingKey& key) {
  keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
}

}  // namespace

void BindingCache::upsert(const db::Binding& binding) {
  auto it = bindings_.find(binding.key);
  if (it != bindings_.end()) {
    // Same key: the indexes already point at it; the spoke may have moved (NAT).
    if (it->second.post_nat_nbma != binding.post_nat_nbma) {
      uncount_post_nat(it->second.post_nat_nbma);
      ++per_post_nat_[binding.post_nat_nbma];
    }
    it->second = binding;
    return;
  }
  bindings_.emplace(binding.key, binding);
  ++per_post_nat_[binding.post_nat_nbma];
  index_for(binding.key.prefix_len)[binding.key.protocol.masked(binding.key.prefix_len)].push_back(binding.key);
  by_nbma_[binding.key.nbma].push_back(binding.key);
}

void BindingCache::unindex(const db::BindingKey& key) {
  auto level = by_prefix_.find(key.prefix_len);
  if (level != by_prefix_.end()) {
    const IpAddress prefix = key.protocol.masked(key.prefix_len);
    if (auto slot = level->second.find(prefix); slot != level->second.end()) {
      erase_key(slot->second, key);
      if (slot->second.empty()) level->second.erase(slot);
    }
    if (level->second.empty()) by_prefix_.erase(level);
  }
  if (auto slot = by_nbma_.find(key.nbma); slot != by_nbma_.end()) {
    erase_key(slot->second, key);
    if (slot->second.empty()) by_nbma_.erase(slot);
  }
}

void BindingCache::uncount_post_nat(const IpAddress& post_nat_nbma) {
  if (auto slot = per_post_nat_.find(post_nat_nbma); slot != per_post_nat_.end() && --slot->second == 0) {
    per_post_nat_.erase(slot);
  }
}

std::optional<db::Binding> BindingCache::remove(const db::BindingKey& key) {
  auto it = bindings_.find(key);
  if (it == bindings_.end()) return std::nullopt;
  db::Binding removed = std::move(it->second);
  bindings_.erase(it);
  unindex(key);
  uncount_post_nat(removed.post_nat_nbma);
  return removed;
}

void BindingCache::clear() {
  bindings_.clear();
  by_prefix_.clear();
  by_nbma_.clear();
  per_post_nat_.clear();
}

const db::Binding* BindingCache::find(const db::BindingKey& key) const {
  auto it = bindings_.find(key);
  return it == bindings_.end() ? nullptr : &it->second;
}

std::vector<const db::Binding*> BindingCache::find_address(const IpAddress& protocol, std::uint8_t prefix_len) const {
  std::vector<const db::Binding*> out;
  auto level = by_prefix_.find(prefix_len);
  if (level == by_prefix_.end()) return out;
  auto slot = level->second.find(protocol.masked(prefix_len));
  if (slot == level->second.end()) return out;
  for (const auto& key : slot->second) {
    if (key.protocol != protocol) continue;
    if (const db::Binding* binding = find(key)) out.push_back(binding);
  }
  return out;
}

bool BindingCache::reached_at(const IpAddress& nbma) const {
  if (count_post_nat(nbma) > 0) return true;
  const auto slot = by_nbma_.find(nbma);
  return slot != by_nbma_.end() && !slot->second.empty();
}

std::vector<const db::Binding*> BindingCache::find_nbma(const IpAddress& nbma) const {
  std::vector<const db::Binding*> out;
  if (auto slot = by_nbma_.find(nbma); slot != by_nbma_.end()) {
    for (const auto& key : slot->second) {
      if (const db::Binding* binding = find(key)) out.push_back(binding);
    }
  }
  return out;
}

std::size_t BindingCache::count_post_nat(const IpAddress& post_nat_nbma) const {
  auto slot = per_post_nat_.find(post_nat_nbma);
  return slot == per_post_nat_.end() ? 0 : slot->second;
}

std::vector<const db::Binding*> BindingCache::overlapping(const IpAddress& prefix, std::uint8_t prefix_len) const {
  std::vector<const db::Binding*> out;
  // Covering or equal: one index lookup per shorter (or equal) length.
  for (const auto& [length, level] : by_prefix_) {
    if (length > prefix_len) continue;
    auto slot = level.find(prefix.masked(length));
    if (slot == level.end()) continue;
    for (const auto& key : slot->second) {
      if (key.protocol.size() != prefix.size()) continue;
      if (const db::Binding* binding = find(key)) out.push_back(binding);
    }
  }
  // More specific: the keys order by protocol address first, so those
  // inside the prefix are one contiguous run of the map.
  const IpAddress first = prefix.masked(prefix_len);
  for (auto it = bindings_.lower_bound(db::BindingKey{first, 0, IpAddress{}});
       it != bindings_.end() && it->first.protocol.size() == prefix.size() &&
       it->first.protocol.shares_prefix(first, prefix_len);
       ++it) {
    if (it->first.prefix_len > prefix_len) out.push_back(&it->second);
  }
  return out;
}

const db::Binding* BindingCache::longest_match(const IpAddress& target, std::int64_t now) const {
  // by_prefix_ is ordered longest first; at most 33 (IPv4) or 129 lookups.
  for (const auto& [prefix_len, level] : by_prefix_) {
    if (prefix_len > target.bit_width()) continue;
    auto slot = level.find(target.masked(prefix_len));
    if (slot == level.end()) continue;
    const db::Binding* best = nullptr;
    for (const auto& key : slot->second) {
      const db::Binding* candidate = find(key);
      if (candidate == nullptr) continue;  // indexes and map are kept in step; never taken
      if (candidate->key.protocol.size() != target.size() || candidate->expires_at <= now) continue;
      if (best == nullptr || candidate->registered_at >= best->registered_at) best = candidate;
    }
    if (best != nullptr) return best;
  }
  return nullptr;
}

}  // namespace advpnd::hub
