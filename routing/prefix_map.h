// PrefixMap<T>: longest-prefix match over IPv4 and IPv6 prefixes, one value
// per prefix. The one LPM structure of advpnd: the spoke's shortcut routes
// (dataplane/route_table.h) and the kernel's routes (kernel_route_table.h)
// are both built on it.
//
// Lookup is one hash probe per prefix length in use, longest first: tables
// hold a handful of lengths (/32 hosts, /24 LANs, /16 summaries, /0), so a
// lookup is a few probes whatever the number of routes. Both families share
// the table; a probe of a length longer than the address is skipped, and an
// IPv4 and an IPv6 prefix never compare equal (IpAddress keys by size).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/ip_address.h"
#include "shortcut/prefix.h"

namespace advpnd::routing {

template <class T>
class PrefixMap {
 public:
  static constexpr std::size_t kMaxLength = 128;

  // Adds or replaces the value of `prefix`; true when it was added.
  bool insert_or_assign(const shortcut::Prefix& prefix, T value) {
    const std::uint8_t length = bounded(prefix.length);
    auto [it, added] = by_length_[length].insert_or_assign(prefix.address.masked(length), std::move(value));
    (void)it;
    if (added) {
      ++size_;
      note_length(length);
    }
    return added;
  }

  // The value of exactly `prefix`, or null.
  [[nodiscard]] T* find(const shortcut::Prefix& prefix) {
    const std::uint8_t length = bounded(prefix.length);
    auto& values = by_length_[length];
    auto it = values.find(prefix.address.masked(length));
    return it == values.end() ? nullptr : &it->second;
  }
  [[nodiscard]] const T* find(const shortcut::Prefix& prefix) const {
    const std::uint8_t length = bounded(prefix.length);
    const auto& values = by_length_[length];
    auto it = values.find(prefix.address.masked(length));
    return it == values.end() ? nullptr : &it->second;
  }

  // False when there was no such prefix.
  bool erase(const shortcut::Prefix& prefix) {
    const std::uint8_t length = bounded(prefix.length);
    auto& values = by_length_[length];
    if (values.erase(prefix.address.masked(length)) == 0) return false;
    --size_;
    if (values.empty()) lengths_.erase(std::find(lengths_.begin(), lengths_.end(), length));
    return true;
  }

  // The value of the most specific prefix covering `address`, or null.
  [[nodiscard]] const T* lookup(const IpAddress& address) const {
    for (const std::uint8_t length : lengths_) {
      if (length > address.bit_width()) continue;
      const auto& values = by_length_[length];
      auto it = values.find(length == address.bit_width() ? address : address.masked(length));
      if (it != values.end()) return &it->second;
    }
    return nullptr;
  }

  // Calls visit(prefix, value) for every entry, longest prefixes first.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const std::uint8_t length : lengths_) {
      for (const auto& [address, value] : by_length_[length]) visit(shortcut::Prefix{address, length}, value);
    }
  }

  void clear() {
    for (const std::uint8_t length : lengths_) by_length_[length].clear();
    lengths_.clear();
    size_ = 0;
  }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

 private:
  static std::uint8_t bounded(std::uint8_t length) {
    // Prefix::of keeps the address masked; masking again on insert costs
    // nothing and protects against a hand-built Prefix.
    return std::min<std::uint8_t>(length, static_cast<std::uint8_t>(kMaxLength));
  }
  void note_length(std::uint8_t length) {
    if (std::find(lengths_.begin(), lengths_.end(), length) != lengths_.end()) return;
    lengths_.push_back(length);
    std::sort(lengths_.begin(), lengths_.end(), std::greater<>());
  }

  // by_length_[n]: masked prefix -> value, for prefixes of length n.
  std::array<std::unordered_map<IpAddress, T>, kMaxLength + 1> by_length_;
  std::vector<std::uint8_t> lengths_;  // lengths in use, longest first
  std::size_t size_ = 0;
};

}  // namespace advpnd::routing
