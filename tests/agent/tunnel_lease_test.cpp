// Who owns a spoke's tunnels (issue #10 item 3): the responder's tunnel to a
// requester, asked for only to send a reply, is released when it is no
// longer used or never comes up, and a peer that cannot be reached is given
// up after bounded attempts. Asserted on the fake provider's call log over
// fake time.
#include <doctest/doctest.h>

#include "tests/agent/mission_fixture.h"

namespace advpnd::agent {
namespace {

using namespace testing;

std::size_t calls_for(const std::vector<IpAddress>& calls, const IpAddress& peer) {
  return static_cast<std::size_t>(std::count(calls.begin(), calls.end(), peer));
}

TEST_CASE("lease: the responder's tunnel, up only for its reply, is terminated once idle (not kept forever)") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  REQUIRE(b.agent->nhc().responder().answered() >= 1);
  CHECK(b.provider.terminated.empty());  // a's shortcut is using it
  CHECK(b.agent->tunnels().reply_tunnels() == 1);
  // No packet over it for longer than the idle timeout (120 s here).
  m.loop.advance(130s);
  m.settle();
  CHECK(calls_for(b.provider.terminated, a.nbma) == 1);
  CHECK(b.agent->tunnels().reply_tunnels() == 0);
  CHECK(calls_for(b.provider.ensured, a.nbma) == 1);
  m.loop.advance(600s);
  CHECK(calls_for(b.provider.ensured, a.nbma) == 1);
  CHECK(calls_for(b.provider.terminated, a.nbma) == 1);
}

TEST_CASE("lease: traffic keeps the responder's tunnel; a fall in the counters (a duplicate SA gone) is not traffic") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  REQUIRE(b.agent->tunnels().reply_tunnels() == 1);
  auto& counters = b.provider.tunnel_counters[a.nbma];
  // Packets every 10 s for 5 minutes: the lease stays (idle timeout 120 s).
  for (int i = 0; i < 30; ++i) {
    counters.packets_in += 5;
    m.loop.advance(10s);
  }
  m.settle();
  CHECK(b.provider.terminated.empty());
  CHECK(b.agent->tunnels().reply_tunnels() == 1);
  // 60 s without traffic, then the peer's duplicate SA is terminated: the
  // sum falls. 130 s after the last packet the lease is gone (counting the
  // fall as traffic kept it until 120 s after the fall).
  m.loop.advance(60s);
  counters.packets_in = 3;
  m.loop.advance(70s);
  m.settle();
  CHECK(calls_for(b.provider.terminated, a.nbma) == 1);
  CHECK(b.agent->tunnels().reply_tunnels() == 0);
}

TEST_CASE("lease: a responder tunnel that never comes up: the reply goes through the NHS, IKE stops") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  // b's provider never reports Up nor Failed (IKE packets into the void):
  // after kReplyFallback the reply goes through the NHS and b stops trying.
  m.loop.advance(TunnelBroker::kReplyFallback + 1s);
  m.settle();
  CHECK(calls_for(b.provider.terminated, a.nbma) >= 1);
  CHECK(b.agent->tunnels().reply_tunnels() == 0);
  CHECK(b.agent->tunnels().replies_via_nhs() >= 1);
  const std::size_t ensures = calls_for(b.provider.ensured, a.nbma);
  const std::size_t terminates = calls_for(b.provider.terminated, a.nbma);
  // 2.5 minutes later (the measurement of the issue): nothing more was asked.
  m.loop.advance(150s);
  m.settle();
  CHECK(calls_for(b.provider.ensured, a.nbma) == ensures);
  CHECK(calls_for(b.provider.terminated, a.nbma) == terminates);
}

TEST_CASE("lease: a reply without a fallback waits kReplyWait, then is dropped and its tunnel terminated") {
  fakes::FakeLoop loop;
  fakes::FakeIpsecProvider provider(loop);
  TunnelBroker tunnels(provider, loop, loop, nullptr);
  const IpAddress peer = ip("198.51.100.9");
  int sent = 0;
  tunnels.when_up(peer, [&] { ++sent; });
  loop.advance(TunnelBroker::kReplyFallback + 1s);
  CHECK(tunnels.reply_tunnels() == 1);  // no fallback to take: still waiting
  CHECK(provider.terminated.empty());
  loop.advance(TunnelBroker::kReplyWait - TunnelBroker::kReplyFallback);
  CHECK(sent == 0);
  CHECK(tunnels.reply_tunnels() == 0);
  CHECK(tunnels.replies_dropped() == 1);
  CHECK(provider.terminated == std::vector<IpAddress>{peer});
}

TEST_CASE("lease: a responder tunnel whose IKE keeps failing is given up after the bounded attempts") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  for (unsigned i = 0; i < shortcut::TunnelPoolConfig{}.max_attempts; ++i) {
    m.loop.advance(100ms);  // fails fast: given up before kReplyFallback
    b.provider.report(a.nbma, shortcut::TunnelState::Failed, "no route to host");
    m.settle();
  }
  CHECK(calls_for(b.provider.terminated, a.nbma) == 1);
  CHECK(b.agent->tunnels().pool().stats().given_up[static_cast<std::size_t>(shortcut::LeaseHolder::Reply)] == 1);
  const auto listed = b.agent->tunnels().pool().status();
  const IpAddress a_nbma = a.nbma;  // clang-14: no structured bindings in lambdas
  const bool shown = std::any_of(listed.begin(), listed.end(), [&](const shortcut::TunnelStatus& s) {
    return s.peer == a_nbma && s.state == shortcut::PoolTunnelState::GivenUp;
  });
  CHECK(shown);
}

TEST_CASE("lease: a shortcut and a reply share one tunnel; it goes when both are done") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  // b wants a shortcut to a as well: the same tunnel, no new ensure.
  m.loop.advance(1s);
  m.hairpin(hub, b, a.protocol);
  m.settle();
  REQUIRE(b.shortcut(Prefix::host(a.protocol)) == ShortcutState::Active);
  CHECK(calls_for(b.provider.ensured, a.nbma) == 1);
  // Traffic keeps b's shortcut up past the reply's idle release.
  for (int i = 0; i < 150; ++i) {
    b.dataplane.traffic(a.nbma);
    m.loop.advance(1s);
  }
  m.settle();
  CHECK(b.agent->tunnels().reply_tunnels() == 0);
  CHECK(b.provider.terminated.empty());
  // Then b's shortcut goes idle: the last lease, the tunnel goes.
  m.loop.advance(130s);
  m.settle();
  CHECK(calls_for(b.provider.terminated, a.nbma) == 1);
}

}  // namespace
}  // namespace advpnd::agent
