// The shortcut state machine against its seams (fake resolver, fake IPsec
// provider, fake dataplane, fake clock): make before break, idle expiry,
// hold-time refresh, purge, failures with backoff, storms.
#include <doctest/doctest.h>

#include <deque>

#include "fakes/fake_ipsec_provider.h"
#include "fakes/fake_loop.h"
#include "shortcut/shortcut_manager.h"

namespace advpnd::shortcut {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// Answers are given by the test; each resolve() is recorded.
struct FakeResolver final : Resolver {
  explicit FakeResolver(fakes::FakeLoop& loop) : loop_(loop) {}
  void resolve(const IpAddress& target, Done done) override {
    asked.push_back(target);
    pending.push_back(std::move(done));
  }
  void answer(Resolution result) {
    REQUIRE_FALSE(pending.empty());
    auto done = std::move(pending.front());
    pending.pop_front();
    loop_.post([done = std::move(done), result] { done(result); });
    loop_.run_until_idle();
  }
  fakes::FakeLoop& loop_;
  std::vector<IpAddress> asked;
  std::deque<Done> pending;
};

Resolution success(const char* peer_nbma, const char* prefix, std::uint8_t length, std::uint16_t hold = 600) {
  Resolution r;
  r.ok = true;
  r.prefix = Prefix::of(ip(prefix), length);
  r.peer_nbma = ip(peer_nbma);
  r.peer_protocol = ip("10.0.0.3");
  r.holding_time = hold;
  return r;
}

Resolution nak(const char* why) {
  Resolution r;
  r.ok = false;
  r.code = nhrp::CieCode::NoBindingExists;
  r.error = why;
  return r;
}

struct Rig {
  explicit Rig(ShortcutConfig config = {}) : provider(loop), pool(provider, loop), resolver(loop) {
    provider.journal = &journal;
    dataplane.journal = &journal;
    manager = std::make_unique<ShortcutManager>(config, resolver, pool, dataplane, loop, loop);
  }
  void run() { loop.run_until_idle(); }
  // Indication -> resolution -> tunnel up: an Active shortcut to peer B for 192.168.2.0/24.
  void establish(std::uint16_t hold = 600) {
    manager->on_traffic_indication(ip("192.168.2.20"));
    resolver.answer(success("198.51.100.3", "192.168.2.0", 24, hold));
    provider.report(ip("198.51.100.3"), TunnelState::Up);
    run();
    REQUIRE(manager->state_of(kLan) == ShortcutState::Active);
  }
  const Prefix kLan = Prefix::of(ip("192.168.2.0"), 24);
  const IpAddress kPeer = ip("198.51.100.3");

  fakes::FakeLoop loop;
  fakes::FakeIpsecProvider provider;
  TunnelPool pool;
  fakes::FakeDataplane dataplane;
  FakeResolver resolver;
  std::vector<std::string> journal;
  std::unique_ptr<ShortcutManager> manager;
};

TEST_CASE("shortcut: make before break: the route moves only once the tunnel is up") {
  Rig rig;
  rig.manager->on_traffic_indication(ip("192.168.2.20"));
  REQUIRE(rig.resolver.asked.size() == 1);
  CHECK(rig.resolver.asked[0] == ip("192.168.2.20"));
  CHECK(rig.manager->state_of(Prefix::host(ip("192.168.2.20"))) == ShortcutState::Resolving);

  rig.resolver.answer(success("198.51.100.3", "192.168.2.0", 24));
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Connecting);
  CHECK(rig.provider.ensured == std::vector<IpAddress>{rig.kPeer});
  CHECK(rig.dataplane.routes.empty());  // traffic still goes through the hub

  rig.loop.advance(5s);
  CHECK(rig.dataplane.routes.empty());
  rig.provider.report(rig.kPeer, TunnelState::Up);
  rig.run();
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Active);
  CHECK(rig.dataplane.route(rig.kLan) == rig.kPeer);
  CHECK(rig.journal == std::vector<std::string>{"ensure 198.51.100.3", "route 192.168.2.0/24 via 198.51.100.3"});
  CHECK(rig.manager->stats().established == 1);
}

TEST_CASE("shortcut: idle timeout: back to the hub first, then the tunnel is terminated") {
  ShortcutConfig config;
  config.idle_timeout = 120s;
  Rig rig(config);
  rig.establish(7200);
  for (int i = 0; i < 100; ++i) {  // 100 s of traffic keeps it
    rig.dataplane.traffic(rig.kPeer);
    rig.loop.advance(1s);
  }
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Active);
  rig.journal.clear();
  rig.loop.advance(119s);
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Active);
  rig.loop.advance(2s);
  rig.run();
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());
  CHECK(rig.journal == std::vector<std::string>{"route 192.168.2.0/24 via hub", "terminate 198.51.100.3"});
  CHECK(rig.manager->stats().closed_idle == 1);

  // New traffic triggers a new shortcut.
  rig.manager->on_traffic_indication(ip("192.168.2.20"));
  CHECK(rig.resolver.asked.size() == 2);
}

TEST_CASE("shortcut: a used shortcut is refreshed at 2/3 of its holding time; an unused one expires") {
  ShortcutConfig config;
  config.idle_timeout = 3600s;  // longer than the hold: only the hold time matters here
  Rig rig(config);
  rig.establish(600);
  for (int i = 0; i < 399; ++i) {
    rig.dataplane.traffic(rig.kPeer);
    rig.loop.advance(1s);
  }
  CHECK(rig.resolver.asked.size() == 1);
  rig.loop.advance(2s);  // 2/3 of 600 s
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Refreshing);
  REQUIRE(rig.resolver.asked.size() == 2);
  CHECK(rig.dataplane.route(rig.kLan) == rig.kPeer);  // still direct while refreshing
  rig.resolver.answer(success("198.51.100.3", "192.168.2.0", 24, 600));
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Active);
  CHECK(rig.manager->stats().refreshed == 1);

  // Now unused: no refresh at the next 2/3 point, gone at the full holding time.
  rig.loop.advance(401s);
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Active);
  CHECK(rig.resolver.asked.size() == 2);
  rig.loop.advance(200s);
  rig.run();
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());
  CHECK_FALSE(rig.dataplane.route(rig.kLan).has_value());
}

TEST_CASE("shortcut: a failed refresh closes the shortcut back onto the hub") {
  ShortcutConfig config;
  config.idle_timeout = 3600s;
  Rig rig(config);
  rig.establish(300);
  rig.dataplane.traffic(rig.kPeer);
  rig.loop.advance(201s);
  REQUIRE(rig.manager->state_of(rig.kLan) == ShortcutState::Refreshing);
  rig.resolver.answer(nak("no binding"));
  rig.run();
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());
  CHECK(rig.provider.terminated == std::vector<IpAddress>{rig.kPeer});
}

TEST_CASE("shortcut: a purge removes it the same way") {
  Rig rig;
  rig.establish();
  rig.journal.clear();
  rig.manager->on_purge(ip("192.168.2.77"));
  rig.run();
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());
  CHECK(rig.journal == std::vector<std::string>{"route 192.168.2.0/24 via hub", "terminate 198.51.100.3"});
}

TEST_CASE("shortcut: the peer never answers IKE: failed after the connect timeout, backoff before retrying") {
  ShortcutConfig config;
  config.connect_timeout = 30s;
  config.failure_backoff = 5s;
  Rig rig(config);
  rig.manager->on_traffic_indication(ip("192.168.2.20"));
  rig.resolver.answer(success("198.51.100.3", "192.168.2.0", 24));
  rig.loop.advance(31s);
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Failed);
  CHECK(rig.dataplane.changes.empty());  // traffic never left the hub path
  CHECK(rig.provider.terminated == std::vector<IpAddress>{rig.kPeer});

  rig.manager->on_traffic_indication(ip("192.168.2.20"));  // backing off: ignored
  CHECK(rig.resolver.asked.size() == 1);
  rig.loop.advance(6s);
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());
  rig.manager->on_traffic_indication(ip("192.168.2.20"));
  CHECK(rig.resolver.asked.size() == 2);
  rig.resolver.answer(success("198.51.100.3", "192.168.2.0", 24));
  rig.loop.advance(31s);
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Failed);
  rig.loop.advance(6s);  // the second failure backs off twice as long
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Failed);
  rig.loop.advance(5s);
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());
}

TEST_CASE("shortcut: a flapping provider: up, then down, puts the traffic back on the hub") {
  Rig rig;
  rig.establish();
  rig.provider.report(rig.kPeer, TunnelState::Down, "peer restarted");
  rig.run();
  CHECK_FALSE(rig.dataplane.route(rig.kLan).has_value());
  CHECK(rig.dataplane.changes.back().peer.empty());
  rig.loop.advance(20s);
  CHECK_FALSE(rig.manager->state_of(rig.kLan).has_value());

  // IKE failing outright on the next attempts: the pool gives the tunnel
  // up after its bounded attempts, and the shortcut fails at once.
  rig.manager->on_traffic_indication(ip("192.168.2.20"));
  rig.resolver.answer(success("198.51.100.3", "192.168.2.0", 24));
  for (unsigned i = 0; i + 1 < TunnelPoolConfig{}.max_attempts; ++i) {
    rig.provider.report(rig.kPeer, TunnelState::Failed, "AUTHENTICATION_FAILED");
  }
  rig.run();
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Connecting);  // the provider retries by itself
  rig.provider.report(rig.kPeer, TunnelState::Failed, "AUTHENTICATION_FAILED");
  rig.run();
  CHECK(rig.manager->state_of(rig.kLan) == ShortcutState::Failed);
  CHECK(rig.pool.stats().given_up[static_cast<std::size_t>(LeaseHolder::Shortcut)] == 1);
  CHECK(rig.provider.terminated.back() == rig.kPeer);  // no more IKE
}

TEST_CASE("shortcut: a resolution NAK fails the attempt, nothing is routed") {
  Rig rig;
  rig.manager->on_traffic_indication(ip("192.168.9.9"));
  rig.resolver.answer(nak("code 12"));
  CHECK(rig.manager->state_of(Prefix::host(ip("192.168.9.9"))) == ShortcutState::Failed);
  CHECK(rig.provider.ensured.empty());
  CHECK(rig.dataplane.changes.empty());
}

TEST_CASE("shortcut: an indication storm starts a bounded number of resolutions") {
  Rig rig;
  for (int i = 0; i < 1000; ++i) {
    rig.manager->on_traffic_indication(IpAddress::v4(10, 200, static_cast<std::uint8_t>(i / 256),
                                                     static_cast<std::uint8_t>(i % 256)));
  }
  CHECK(rig.resolver.asked.size() == 4);  // the burst of the start rate
  CHECK(rig.manager->stats().indications_ignored == 996);
  rig.loop.advance(2s);
  rig.manager->on_traffic_indication(ip("10.201.0.1"));
  rig.manager->on_traffic_indication(ip("10.201.0.2"));
  rig.manager->on_traffic_indication(ip("10.201.0.3"));
  CHECK(rig.resolver.asked.size() == 6);  // 1 per second
  // The same destination again and again starts nothing new.
  for (int i = 0; i < 100; ++i) rig.manager->on_traffic_indication(ip("10.200.0.1"));
  CHECK(rig.resolver.asked.size() == 6);
}

TEST_CASE("shortcut: two prefixes behind one peer share its tunnel until the last one closes") {
  Rig rig;
  rig.establish();
  rig.manager->on_traffic_indication(ip("192.168.3.20"));
  rig.resolver.answer(success("198.51.100.3", "192.168.3.0", 24));
  rig.run();
  const Prefix second = Prefix::of(ip("192.168.3.0"), 24);
  CHECK(rig.manager->state_of(second) == ShortcutState::Active);  // tunnel already up
  CHECK(rig.provider.ensured.size() == 1);
  rig.manager->on_purge(ip("192.168.2.1"));
  rig.run();
  CHECK(rig.provider.terminated.empty());
  CHECK(rig.dataplane.route(second) == rig.kPeer);
  rig.manager->on_purge(ip("192.168.3.1"));
  rig.run();
  CHECK(rig.provider.terminated == std::vector<IpAddress>{rig.kPeer});
}

TEST_CASE("shortcut: an answer covering a prefix absorbs later indications inside it") {
  Rig rig;
  rig.establish();
  rig.manager->on_traffic_indication(ip("192.168.2.99"));
  CHECK(rig.resolver.asked.size() == 1);
  const auto listed = rig.manager->list();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].prefix == rig.kLan);
  CHECK(listed[0].peer_nbma == rig.kPeer);
  CHECK(listed[0].state == ShortcutState::Active);
}

TEST_CASE("shortcut: close_all on shutdown puts everything back on the hub") {
  Rig rig;
  rig.establish();
  rig.manager->on_traffic_indication(ip("192.168.7.7"));  // still resolving
  rig.journal.clear();
  rig.manager->close_all("shutdown");
  rig.run();
  CHECK(rig.journal == std::vector<std::string>{"route 192.168.2.0/24 via hub", "terminate 198.51.100.3"});
  CHECK(rig.manager->list().empty());
}

}  // namespace
}  // namespace advpnd::shortcut

namespace advpnd::shortcut {
namespace {

// Issue #12: the tunnel must be to whoever the resolution named.
TEST_CASE("shortcut: the peer must prove the tunnel address the resolution named") {
  Rig rig;
  rig.manager->on_traffic_indication(ip("192.168.2.20"));
  rig.resolver.answer(success("198.51.100.3", "192.168.2.0", 24));  // next hop 10.0.0.3
  REQUIRE(rig.manager->state_of(rig.kLan) == ShortcutState::Connecting);
  CHECK(rig.provider.expected.at(rig.kPeer) == "10.0.0.3");

  // An answer that names no separate next hop (its address lies in the
  // routed prefix) asks for no identity.
  Rig other;
  other.manager->on_traffic_indication(ip("192.168.2.20"));
  Resolution r = success("198.51.100.3", "192.168.2.0", 24);
  r.peer_protocol = ip("192.168.2.0");
  other.resolver.answer(r);
  REQUIRE(other.manager->state_of(other.kLan) == ShortcutState::Connecting);
  CHECK(other.provider.expected.count(other.kPeer) == 0);
}

}  // namespace
}  // namespace advpnd::shortcut
