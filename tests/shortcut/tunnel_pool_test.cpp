// The tunnel pool (shortcut/tunnel_pool.h) against the fake provider and
// the fake clock: one owner for every tunnel's lifetime, bounded retries.
#include <doctest/doctest.h>

#include "fakes/fake_ipsec_provider.h"
#include "fakes/fake_loop.h"
#include "shortcut/tunnel_pool.h"

namespace advpnd::shortcut {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const IpAddress kPeer = ip("198.51.100.3");
const IpAddress kNhs = ip("203.0.113.1");

struct PoolRig {
  explicit PoolRig(TunnelPoolConfig config = {}) : provider(loop), pool(provider, loop, config) {}
  // A listener that records what its holder heard.
  TunnelLease::Listener record(std::vector<TunnelState>& heard) {
    return [&heard](TunnelState state, const std::string&) { heard.push_back(state); };
  }
  [[nodiscard]] std::size_t count(const std::vector<IpAddress>& calls, const IpAddress& peer) const {
    return static_cast<std::size_t>(std::count(calls.begin(), calls.end(), peer));
  }
  fakes::FakeLoop loop;
  fakes::FakeIpsecProvider provider;
  TunnelPool pool;
};

TEST_CASE("tunnel pool: ensure with the first lease, terminate exactly when the last one goes") {
  PoolRig rig;
  std::vector<TunnelState> first_heard;
  std::vector<TunnelState> second_heard;
  auto first = rig.pool.lease(kPeer, LeaseHolder::Shortcut, rig.record(first_heard));
  CHECK(rig.provider.ensured == std::vector<IpAddress>{kPeer});
  CHECK(first_heard.empty());  // never inside lease()
  rig.provider.report(kPeer, TunnelState::Up);
  rig.loop.run_until_idle();
  CHECK(first_heard == std::vector<TunnelState>{TunnelState::Up});

  auto second = rig.pool.lease(kPeer, LeaseHolder::Reply, rig.record(second_heard));
  CHECK(rig.provider.ensured.size() == 1);  // up already: no second ensure
  CHECK(second_heard.empty());
  rig.loop.run_until_idle();
  CHECK(second_heard == std::vector<TunnelState>{TunnelState::Up});  // which the provider would not repeat
  const auto status = rig.pool.status(kPeer);
  REQUIRE(status.has_value());
  CHECK(status->leases[static_cast<std::size_t>(LeaseHolder::Shortcut)] == 1);
  CHECK(status->leases[static_cast<std::size_t>(LeaseHolder::Reply)] == 1);

  first.reset();
  CHECK(rig.provider.terminated.empty());
  TunnelLease moved = std::move(second);  // moving a lease is not releasing it
  CHECK(rig.provider.terminated.empty());
  moved = TunnelLease{};  // the last one
  CHECK(rig.provider.terminated == std::vector<IpAddress>{kPeer});
  CHECK(rig.pool.stats().terminated == 1);
  CHECK_FALSE(rig.pool.status(kPeer).has_value());
  rig.loop.run_until_idle();  // the provider's Down reaches nobody
  CHECK(first_heard.size() == 1);
}

TEST_CASE("tunnel pool: a failing peer is given up after N attempts; no more ensure(), terminate() once") {
  TunnelPoolConfig config;
  config.max_attempts = 3;
  PoolRig rig(config);
  std::vector<TunnelState> heard;
  auto lease = rig.pool.lease(kPeer, LeaseHolder::Reply, rig.record(heard));
  // The provider retries by itself, with its own backoff (1, 2, 4 s ...).
  for (int attempt = 1; attempt <= 2; ++attempt) {
    rig.loop.advance(std::chrono::seconds(1 << (attempt - 1)));
    rig.provider.report(kPeer, TunnelState::Failed, "no route to host");
    rig.loop.run_until_idle();
    CHECK(heard.empty());
    CHECK(rig.pool.status(kPeer)->failed_attempts == static_cast<unsigned>(attempt));
  }
  CHECK(rig.provider.terminated.empty());
  rig.provider.report(kPeer, TunnelState::Failed, "no route to host");
  rig.loop.run_until_idle();
  CHECK(heard == std::vector<TunnelState>{TunnelState::Failed});
  CHECK(rig.provider.terminated == std::vector<IpAddress>{kPeer});
  CHECK(rig.pool.status(kPeer)->state == PoolTunnelState::GivenUp);
  CHECK(rig.pool.stats().given_up[static_cast<std::size_t>(LeaseHolder::Reply)] == 1);

  // Ten minutes on: nothing more was asked of the provider.
  rig.loop.advance(600s);
  rig.provider.report(kPeer, TunnelState::Failed, "late report of an old attempt");
  rig.loop.run_until_idle();
  CHECK(rig.count(rig.provider.ensured, kPeer) == 1);
  CHECK(rig.count(rig.provider.terminated, kPeer) == 1);
  CHECK(heard.size() == 1);

  // Releasing a given-up tunnel terminates nothing more; it stays listed.
  lease.reset();
  CHECK(rig.count(rig.provider.terminated, kPeer) == 1);
  const auto listed = rig.pool.status();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].peer == kPeer);
  CHECK(listed[0].state == PoolTunnelState::GivenUp);
  CHECK(listed[0].last_error.find("no route to host") != std::string::npos);

  // A new user starts a fresh round.
  auto again = rig.pool.lease(kPeer, LeaseHolder::Shortcut, nullptr);
  CHECK(rig.count(rig.provider.ensured, kPeer) == 2);
  CHECK(rig.pool.status().size() == 1);
}

TEST_CASE("tunnel pool: an NHS tunnel is never given up; a Down is followed by ensure() with backoff") {
  TunnelPoolConfig config;
  config.max_attempts = 2;
  PoolRig rig(config);
  std::vector<TunnelState> heard;
  auto lease = rig.pool.lease(kNhs, LeaseHolder::Nhs, rig.record(heard));
  for (int i = 0; i < 10; ++i) rig.provider.report(kNhs, TunnelState::Failed, "IKE timeout");
  rig.loop.run_until_idle();
  CHECK(rig.provider.terminated.empty());
  CHECK(heard.size() == 10);  // each failure is reported, with its reason
  CHECK(rig.pool.status(kNhs)->last_error == "failed: IKE timeout");
  rig.provider.report(kNhs, TunnelState::Up);
  rig.loop.run_until_idle();
  CHECK(rig.pool.up(kNhs));

  // Down twice: ensure again after 1 s, then after 2 s.
  rig.provider.report(kNhs, TunnelState::Down, "DPD");
  rig.loop.run_until_idle();
  rig.loop.advance(999ms);
  CHECK(rig.provider.ensured.size() == 1);
  rig.loop.advance(1ms);
  CHECK(rig.provider.ensured.size() == 2);
  rig.provider.report(kNhs, TunnelState::Down, "DPD");
  rig.loop.run_until_idle();
  rig.loop.advance(1500ms);
  CHECK(rig.provider.ensured.size() == 2);
  rig.loop.advance(500ms);
  CHECK(rig.provider.ensured.size() == 3);

  // A shortcut to the NHS's address shares the tunnel; its end keeps it up.
  auto shortcut = rig.pool.lease(kNhs, LeaseHolder::Shortcut, nullptr);
  shortcut.reset();
  CHECK(rig.provider.terminated.empty());
}

TEST_CASE("tunnel pool: a holder may release its lease from its own listener") {
  PoolRig rig;
  TunnelLease first;
  TunnelLease second;
  int calls = 0;
  first = rig.pool.lease(kPeer, LeaseHolder::Shortcut, [&](TunnelState, const std::string&) {
    ++calls;
    first.reset();
    second.reset();  // the other holder is gone before its turn: it hears nothing
  });
  second = rig.pool.lease(kPeer, LeaseHolder::Shortcut, [&](TunnelState, const std::string&) { ++calls; });
  rig.provider.report(kPeer, TunnelState::Up);
  rig.loop.run_until_idle();
  CHECK(calls == 1);
  CHECK(rig.provider.terminated == std::vector<IpAddress>{kPeer});
}

TEST_CASE("tunnel pool: a lease outliving the pool releases nothing") {
  fakes::FakeLoop loop;
  fakes::FakeIpsecProvider provider(loop);
  TunnelLease lease;
  {
    TunnelPool pool(provider, loop);
    lease = pool.lease(kPeer, LeaseHolder::Shortcut, nullptr);
  }
  lease.reset();
  CHECK(provider.terminated.empty());
}

}  // namespace
}  // namespace advpnd::shortcut
