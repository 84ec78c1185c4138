// base/backoff.h and base/token_bucket.h: the one backoff (doubling, capped,
// jittered, repeatable for a given seed) and the one token bucket rule.
#include <doctest/doctest.h>

#include <vector>

#include "base/backoff.h"
#include "base/token_bucket.h"

namespace advpnd {
namespace {

using namespace std::chrono_literals;

std::vector<Duration> delays(Backoff& backoff, int n) {
  std::vector<Duration> out;
  for (int i = 0; i < n; ++i) out.push_back(backoff.next());
  return out;
}

}  // namespace

TEST_CASE("backoff: doubles from the first delay up to the cap; reset starts again") {
  Backoff backoff(200ms, 1s, 0.0);
  CHECK(delays(backoff, 5) == std::vector<Duration>{200ms, 400ms, 800ms, 1s, 1s});
  CHECK(backoff.attempts() == 5);
  backoff.reset();
  CHECK(backoff.attempts() == 0);
  CHECK(backoff.next() == 200ms);
}

TEST_CASE("backoff: jitter stays within its fraction and below the cap, and a seed makes it repeatable") {
  Backoff a(100ms, 10s, 0.2, 42);
  Backoff b(100ms, 10s, 0.2, 42);
  Backoff c(100ms, 10s, 0.2, 43);
  const auto from_a = delays(a, 12);
  CHECK(from_a == delays(b, 12));  // same seed, same delays: runs under the fake clock repeat
  CHECK(from_a != delays(c, 12));  // another seed spreads differently
  Duration nominal = 100ms;
  for (const Duration delay : from_a) {
    CHECK(delay >= std::chrono::duration_cast<Duration>(nominal * 0.8));
    CHECK(delay <= std::min<Duration>(std::chrono::duration_cast<Duration>(nominal * 1.2), 10s));
    nominal = std::min<Duration>(nominal * 2, 10s);
  }
}

TEST_CASE("next_backoff: first, then doubling, capped") {
  CHECK(next_backoff(Duration::zero(), 1s, 8s) == 1s);
  CHECK(next_backoff(1s, 1s, 8s) == 2s);
  CHECK(next_backoff(6s, 1s, 8s) == 8s);
}

TEST_CASE("token bucket: a burst, then the refill rate; time going backwards refills nothing") {
  TokenBucket bucket(TokenRate{2.0, 3.0});
  const MonotonicTime t0{};
  CHECK(bucket.try_take(t0));
  CHECK(bucket.try_take(t0));
  CHECK(bucket.try_take(t0));
  CHECK_FALSE(bucket.try_take(t0));
  CHECK(bucket.try_take(t0 + 500ms));  // 2/s: one token per 500 ms
  CHECK_FALSE(bucket.try_take(t0 + 500ms));
  CHECK_FALSE(bucket.try_take(t0 + 100ms));  // earlier than the last refill: nothing new
  CHECK(bucket.try_take(t0 + 1s));
}

TEST_CASE("keyed token bucket: one bucket per key, the same rule, bounded keys") {
  KeyedTokenBucket<int> buckets(TokenRate{1.0, 1.0}, 2);
  const MonotonicTime t0{};
  CHECK(buckets.try_take(1, t0));
  CHECK_FALSE(buckets.try_take(1, t0));
  CHECK(buckets.try_take(2, t0));
  CHECK_FALSE(buckets.try_take(3, t0));  // full, and no bucket has refilled yet
  CHECK(buckets.try_take(3, t0 + 1s));   // both refilled: dropped to make room
  CHECK(buckets.size() <= 2);
}

}  // namespace advpnd
