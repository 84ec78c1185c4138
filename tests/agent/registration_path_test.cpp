// The first registration and the tunnel to the NHS (issue #10 item 5): the
// request goes out once, when the tunnel is up, and its one reply is the
// reply the registration waits for.
#include <doctest/doctest.h>

#include "nhrp/codec.h"
#include "tests/agent/mission_fixture.h"

namespace advpnd::agent {
namespace {

using namespace testing;

// Registration Requests from `from` as they left it (link up or not).
struct RequestTap {
  explicit RequestTap(Mission& m) : mission(m) {
    m.fabric.set_observer([this](const fakes::FabricRecord& record) {
      auto packet = nhrp::decode(record.payload);
      if (packet.ok() && packet->type == nhrp::PacketType::RegistrationRequest) {
        requests.emplace_back(record.sender, packet->request_id);
      }
    });
  }
  ~RequestTap() { mission.fabric.set_observer({}); }
  RequestTap(const RequestTap&) = delete;
  RequestTap& operator=(const RequestTap&) = delete;
  [[nodiscard]] std::size_t from(const IpAddress& sender) const {
    return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(),
                                                  [&](const auto& r) { return r.first == sender; }));
  }
  Mission& mission;
  std::vector<std::pair<IpAddress, std::uint32_t>> requests;
};

TEST_CASE("registration: the tunnel comes up at once (none-like provider): one request, one reply, no stray reply") {
  Mission m;
  RequestTap tap(m);
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();
  CHECK(a.agent->nhc().servers().up_count() == 1);
  CHECK(hub.server->cache().size() == 1);
  CHECK(tap.from(a.nbma) == 1);
  CHECK(a.agent->nhc().stats().error_count("registration reply for no request") == 0);
  // And the refresh cycle that follows is one request too.
  m.loop.advance(201s);
  m.settle();
  CHECK(tap.from(a.nbma) == 2);
  CHECK(a.agent->nhc().stats().error_count("registration reply for no request") == 0);
}

TEST_CASE("registration: nothing is sent before the tunnel to the NHS is up; exactly one request when it is") {
  Mission m;
  RequestTap tap(m);
  Hub& hub = m.add_hub();
  m.ipsec_auto_up = false;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();
  m.loop.advance(500ms);
  CHECK(tap.from(a.nbma) == 0);  // it would only be dropped (GRE fails closed without the SA)
  CHECK(a.agent->nhc().servers().status().front().state == spoke::RegistrationState::Registering);

  a.provider.report(kHubNbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  CHECK(tap.from(a.nbma) == 1);
  CHECK(hub.server->cache().size() == 1);
  CHECK(a.agent->nhc().stats().error_count("registration reply for no request") == 0);

  // The tunnel goes down and comes back while registered: nothing to resend.
  a.provider.report(kHubNbma, shortcut::TunnelState::Down, "DPD");
  m.settle();
  m.loop.advance(shortcut::TunnelPoolConfig{}.nhs_retry_initial);
  a.provider.report(kHubNbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  CHECK(tap.from(a.nbma) == 1);
}

TEST_CASE("registration: requests lost while the tunnel was down are resent once when it comes up") {
  Mission m;
  RequestTap tap(m);
  Hub& hub = m.add_hub();
  m.ipsec_auto_up = false;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.fabric.set_link_down(a.nbma);
  a.provider.report(kHubNbma, shortcut::TunnelState::Up);
  m.settle();
  CHECK(tap.from(a.nbma) == 1);  // lost on the way
  a.provider.report(kHubNbma, shortcut::TunnelState::Down, "DPD");
  m.settle();
  m.loop.advance(2500ms);  // the 1 s retransmission went out while the tunnel was down
  CHECK(tap.from(a.nbma) == 2);
  m.fabric.set_link_up(a.nbma);
  a.provider.report(kHubNbma, shortcut::TunnelState::Up);
  m.settle();
  CHECK(tap.from(a.nbma) == 3);  // at once, not at the 3 s retransmission
  CHECK(hub.server->cache().size() == 1);
  CHECK(a.agent->nhc().stats().error_count("registration reply for no request") == 0);
}

}  // namespace
}  // namespace advpnd::agent
