// StrongswanProvider with no charon at all (a socket path where nothing
// listens; no root needed): Failed from the loop with the reason, retries
// with backoff, and the listener calling back into the provider the way
// ShortcutManager does (terminate on Failed) or destroying it.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/temp_file.h"
#include "tests/vici/loop_support.h"
#include "vici/strongswan_provider.h"

namespace {

using namespace std::chrono_literals;
using advpnd::IpAddress;
using advpnd::shortcut::TunnelState;
using advpnd::test::make_loop;
using advpnd::test::run_for;
using advpnd::test::run_until;
using namespace advpnd::vici;

StrongswanConfig offline_config(const std::string& socket) {
  StrongswanConfig config;
  config.socket_path = socket;  // nothing listens there
  config.policy.auth.psk = "psk";
  config.retry_initial = 50ms;
  config.retry_max = 200ms;
  config.reconnect_initial = 20ms;
  config.reconnect_max = 100ms;
  config.poll_interval = 50ms;
  return config;
}

const IpAddress kPeer = IpAddress::v4(192, 0, 2, 2);

TEST_CASE("strongswan provider, no charon: Failed from the loop, retried, terminate stops it with Down") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  StrongswanProvider provider(*loop, offline_config(socket.path()));
  std::vector<std::pair<TunnelState, std::string>> events;
  provider.set_listener([&](const IpAddress& peer, TunnelState state, const std::string& reason) {
    CHECK(peer == kPeer);
    events.emplace_back(state, reason);
  });
  CHECK_FALSE(provider.charon_connected());
  provider.ensure(kPeer);
  CHECK(events.empty());  // never inside ensure()
  REQUIRE(run_until(*loop, [&] { return events.size() >= 3; }, 3s));
  for (const auto& [state, reason] : events) {
    CHECK(state == TunnelState::Failed);
    CHECK(reason.find(socket.path()) != std::string::npos);
  }
  CHECK(provider.state(kPeer) == PeerState::Failed);
  CHECK_FALSE(provider.counters(kPeer).has_value());
  provider.ensure(kPeer);  // Failed: changes nothing
  CHECK(provider.state(kPeer) == PeerState::Failed);

  provider.terminate(kPeer);
  CHECK(provider.state(kPeer) == PeerState::Terminating);
  REQUIRE(run_until(*loop, [&] { return events.back().first == TunnelState::Down; }, 2s));
  CHECK_FALSE(provider.state(kPeer).has_value());
  const std::size_t seen = events.size();
  run_for(*loop, 300ms);
  CHECK(events.size() == seen);  // no retry after terminate
}

TEST_CASE("strongswan provider, no charon: the listener terminates on Failed, as ShortcutManager does") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  StrongswanProvider provider(*loop, offline_config(socket.path()));
  std::vector<TunnelState> events;
  provider.set_listener([&](const IpAddress& peer, TunnelState state, const std::string&) {
    events.push_back(state);
    if (state == TunnelState::Failed) provider.terminate(peer);
  });
  provider.ensure(kPeer);
  REQUIRE(run_until(*loop, [&] { return events.size() == 2; }, 2s));
  CHECK(events == std::vector<TunnelState>{TunnelState::Failed, TunnelState::Down});
  run_for(*loop, 300ms);
  CHECK(events.size() == 2);
  CHECK(provider.transitions_into(PeerState::Failed) == 1);
  CHECK(provider.transitions_into(PeerState::Terminating) == 1);

  // ensure() while terminating: Down for the terminate, then a new attempt.
  provider.ensure(kPeer);
  provider.terminate(kPeer);
  provider.ensure(kPeer);
  REQUIRE(run_until(*loop, [&] { return events.size() >= 5; }, 2s));
  CHECK(events == std::vector<TunnelState>{TunnelState::Failed, TunnelState::Down, TunnelState::Down,
                                           TunnelState::Failed, TunnelState::Down});
}

TEST_CASE("strongswan provider, no charon: the listener may destroy the provider") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  auto provider = std::make_unique<StrongswanProvider>(*loop, offline_config(socket.path()));
  int calls = 0;
  provider->set_listener([&](const IpAddress&, TunnelState, const std::string&) {
    ++calls;
    provider.reset();
  });
  provider->ensure(kPeer);
  provider->ensure(IpAddress::v4(192, 0, 2, 3));
  REQUIRE(run_until(*loop, [&] { return provider == nullptr; }, 2s));
  run_for(*loop, 100ms);
  CHECK(calls == 1);
}

}  // namespace
