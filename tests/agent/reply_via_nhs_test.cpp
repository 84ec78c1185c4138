// A requester the responder cannot reach directly (issue #10 "NAT one-way":
// a spoke behind a masquerade, whose private NBMA is all the responder
// learns when IPsec hides the NAT from the hub). The responder's own IKE
// to it cannot succeed, so after kReplyFallback it sends the reply back
// through its NHS, which routes it to the requester (RFC 2332 5.2.2, 5.3.3:
// the hub forwarded the request); the requester then initiates to the
// responder, whose address is reachable, and gets its direct path.
#include <doctest/doctest.h>

#include "tests/agent/mission_fixture.h"

namespace advpnd::agent {
namespace {

using namespace testing;

TEST_CASE("reply via the NHS: the responder cannot reach the requester; the requester gets its shortcut anyway") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  const Prefix b_lan = Prefix::of(ip("192.168.2.0"), 24);
  // b's IKE to a goes nowhere (a's NBMA is private, behind a NAT).
  CHECK(b.agent->nhc().responder().answered() == 0);
  m.loop.advance(TunnelBroker::kReplyFallback + 100ms);
  m.settle();
  CHECK(b.agent->nhc().responder().answered() >= 1);
  CHECK(b.agent->tunnels().replies_via_nhs() >= 1);
  // a heard b's answer through the hub and brought the tunnel up itself.
  CHECK(a.shortcut(b_lan) == ShortcutState::Active);
  CHECK(a.dataplane.route(b_lan) == b.nbma);
  // b stopped trying to reach a: its reply lease is gone, the tunnel terminated.
  CHECK(b.agent->tunnels().reply_tunnels() == 0);
  CHECK(std::count(b.provider.terminated.begin(), b.provider.terminated.end(), a.nbma) == 1);
  const auto ensures = std::count(b.provider.ensured.begin(), b.provider.ensured.end(), a.nbma);
  m.loop.advance(150s);
  CHECK(std::count(b.provider.ensured.begin(), b.provider.ensured.end(), a.nbma) == ensures);
}

TEST_CASE("reply via the NHS: a requester reached directly in time gets its reply directly, not twice via the hub") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  m.loop.advance(TunnelBroker::kReplyFallback / 2);
  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  m.loop.advance(TunnelBroker::kReplyFallback);
  m.settle();
  CHECK(b.agent->tunnels().replies_via_nhs() == 0);
  CHECK(a.shortcut(Prefix::of(ip("192.168.2.0"), 24)) == ShortcutState::Active);
}

}  // namespace
}  // namespace advpnd::agent
