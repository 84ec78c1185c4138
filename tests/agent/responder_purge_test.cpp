// A spoke's clean stop purges the peers it answered (issue #10 item 6,
// spoke half; RFC 2332 5.2.5): each requester that holds our binding from a
// reply we sent gets a Purge Request and drops its shortcut at once,
// instead of sending into a dead tunnel until its holding time ends.
#include <doctest/doctest.h>

#include "nhrp/codec.h"
#include "tests/agent/mission_fixture.h"

namespace advpnd::agent {
namespace {

using namespace testing;

struct PurgeTap {
  explicit PurgeTap(Mission& m) : mission(m) {
    m.fabric.set_observer([this](const fakes::FabricRecord& record) {
      auto packet = nhrp::decode(record.payload);
      if (packet.ok() && packet->type == nhrp::PacketType::PurgeRequest) {
        purges.push_back({record.sender, record.destination, *packet});
      }
    });
  }
  ~PurgeTap() { mission.fabric.set_observer({}); }
  PurgeTap(const PurgeTap&) = delete;
  PurgeTap& operator=(const PurgeTap&) = delete;
  struct Sent {
    IpAddress from;
    IpAddress to;
    nhrp::Packet packet;
  };
  Mission& mission;
  std::vector<Sent> purges;
};

TEST_CASE("responder purge: a clean stop purges the requester it answered; its shortcut goes back to the hub") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  const Prefix b_lan = Prefix::of(ip("192.168.2.0"), 24);
  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  REQUIRE(a.shortcut(b_lan) == ShortcutState::Active);
  REQUIRE(a.dataplane.route(b_lan) == b.nbma);

  PurgeTap tap(m);
  bool done = false;
  b.agent->shutdown([&] { done = true; });
  m.settle();
  m.loop.advance(5s);
  CHECK(done);
  std::vector<PurgeTap::Sent> to_a;
  const IpAddress a_nbma = a.nbma;  // clang-14: no structured bindings in lambdas
  const IpAddress b_nbma = b.nbma;
  std::copy_if(tap.purges.begin(), tap.purges.end(), std::back_inserter(to_a),
               [&](const PurgeTap::Sent& s) { return s.from == b_nbma && s.to == a_nbma; });
  REQUIRE(to_a.size() == 1);
  const nhrp::Packet& purge = to_a.front().packet;
  CHECK(purge.dst_protocol == a.protocol);
  CHECK(purge.src_protocol == b.protocol);
  // Our own address and the LAN we answered for.
  REQUIRE(purge.cies.size() == 2);
  CHECK(purge.cies[0].protocol == b.protocol);
  CHECK(purge.cies[1].protocol == ip("192.168.2.0"));
  CHECK(purge.cies[1].prefix_length == 24);
  // a dropped its shortcut on the purge, not at the end of its holding time.
  CHECK_FALSE(a.shortcut(b_lan).has_value());
  CHECK_FALSE(a.dataplane.route(b_lan).has_value());
  CHECK(a.agent->nhc().stats().error_count("purge request from a station that is neither NHS nor peer") == 0);
}

TEST_CASE("responder purge: a requester whose binding has expired is not purged") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  m.loop.advance(std::chrono::seconds(601));  // a's binding at b (holding time 600 s) is over
  PurgeTap tap(m);
  b.agent->shutdown([] {});
  m.settle();
  m.loop.advance(5s);
  const IpAddress a_nbma = a.nbma;  // clang-14: no structured bindings in lambdas
  const IpAddress b_nbma = b.nbma;
  const bool to_a = std::any_of(tap.purges.begin(), tap.purges.end(),
                                [&](const PurgeTap::Sent& s) { return s.from == b_nbma && s.to == a_nbma; });
  CHECK_FALSE(to_a);
}

}  // namespace
}  // namespace advpnd::agent
