// Token buckets: one (TokenBucket: the NHC's resolutions, the responder's
// replies) or keyed by anything hashable (KeyedTokenBucket: the redirect
// policy's per (source, destination) limit, the per-NBMA registration
// limit), with one refill rule. For the keyed ones, memory
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

// The tokens of one bucket and the one refill rule: `per_second` tokens
// come back each second, up to `burst`.
struct TokenCount {
  double tokens = 0;
  MonotonicTime updated{};

  void refill(const TokenRate& rate, MonotonicTime now) {
    const double elapsed = std::chrono::duration<double>(now - updated).count();
    if (elapsed > 0) {
      tokens = std::min(rate.burst, tokens + elapsed * rate.per_second);
      updated = now;
    }
  }
  // Takes `count` tokens if there are that many (after refilling up to
  // `now`); otherwise takes none.
  bool take(const TokenRate& rate, MonotonicTime now, double count = 1.0) {
    refill(rate, now);
    if (tokens < count) return false;
    tokens -= count;
    return true;
  }
};

// One bucket; starts full at the first try_take().
class TokenBucket {
 public:
  explicit TokenBucket(TokenRate rate) : rate_(rate) {}

  void set_rate(TokenRate rate) { rate_ = rate; }
  [[nodiscard]] const TokenRate& rate() const { return rate_; }

  // Takes one token at `now`; false when the bucket is empty.
  bool try_take(MonotonicTime now) {
    if (!started_) count_ = TokenCount{rate_.burst, now};
    started_ = true;
    return count_.take(rate_, now);
  }

 private:
  TokenRate rate_;
  TokenCount count_;
  bool started_ = false;
};

template <class Key, class Hash = std::hash<Key>>
class KeyedTokenBucket {
 public:
  KeyedTokenBucket(TokenRate rate, std::size_t max_keys) : rate_(rate), max_keys_(max_keys) {}

  void set_rate(TokenRate rate) { rate_ = rate; }
  [[nodiscard]] const TokenRate& rate() const { return rate_; }

  // Takes `count` tokens for `key` at `now`, all or none; false when the
  // bucket holds fewer (the hub's registrations cost one per CIE).
  bool try_take(const Key& key, MonotonicTime now, double count = 1.0) {
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_keys_ && !evict_full(now)) return false;
      it = buckets_.emplace(key, TokenCount{rate_.burst, now}).first;
    }
    return it->second.take(rate_, now, count);
  }

  [[nodiscard]] std::size_t size() const { return buckets_.size(); }

 private:
  // Drops every bucket that is full again; true if room was made.
  bool evict_full(MonotonicTime now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it->second.refill(rate_, now);
      it = it->second.tokens >= rate_.burst ? buckets_.erase(it) : std::next(it);
    }
    return buckets_.size() < max_keys_;
  }

  TokenRate rate_;
  std::size_t max_keys_;
  std::unordered_map<Key, TokenCount, Hash> buckets_;
};

}  // namespace advpnd
