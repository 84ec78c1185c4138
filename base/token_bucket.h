// Token buckets keyed by anything hashable: the redirect policy's per
// (source, destination) limit and the per-NBMA registration limit. Memory
// is bounded: at most `max_keys` buckets; when full, buckets that have
// refilled completely (and so carry no state) are dropped first, and if
// none has, the request is refused (counted by the caller).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <unordered_map>

#include "base/clock.h"

namespace advpnd {

struct TokenRate {
  double per_second = 0;  // refill rate
  double burst = 1;       // bucket size
};

template <class Key, class Hash = std::hash<Key>>
class KeyedTokenBucket {
 public:
  KeyedTokenBucket(TokenRate rate, std::size_t max_keys) : rate_(rate), max_keys_(max_keys) {}

  void set_rate(TokenRate rate) { rate_ = rate; }
  [[nodiscard]] const TokenRate& rate() const { return rate_; }

  // Takes one token for `key` at `now`; false when the bucket is empty.
  bool try_take(const Key& key, MonotonicTime now) {
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_keys_ && !evict_full(now)) return false;
      it = buckets_.emplace(key, Bucket{rate_.burst, now}).first;
    }
    Bucket& bucket = it->second;
    refill(bucket, now);
    if (bucket.tokens < 1.0) return false;
    bucket.tokens -= 1.0;
    return true;
  }

  [[nodiscard]] std::size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    MonotonicTime updated{};
  };

  void refill(Bucket& bucket, MonotonicTime now) const {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    if (elapsed > 0) {
      bucket.tokens = std::min(rate_.burst, bucket.tokens + elapsed * rate_.per_second);
      bucket.updated = now;
    }
  }

  // Drops every bucket that is full again; true if room was made.
  bool evict_full(MonotonicTime now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second, now);
      it = it->second.tokens >= rate_.burst ? buckets_.erase(it) : std::next(it);
    }
    return buckets_.size() < max_keys_;
  }

  TokenRate rate_;
  std::size_t max_keys_;
  std::unordered_map<Key, Bucket, Hash> buckets_;
};

}  // namespace advpnd
