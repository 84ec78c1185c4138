// In-process tier for the whole mission (tests/agent/mission_fixture.h):
// registration, redirect, resolution, shortcuts, purges, shutdown.
#include <doctest/doctest.h>

#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "tests/agent/mission_fixture.h"

namespace advpnd::agent {
namespace {

using namespace testing;

TEST_CASE("mission: register, redirect, resolve, shortcut up, traffic, idle expiry, back to the hub") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  Spoke& c = m.add_spoke("198.51.100.4", "10.0.0.4");
  m.settle();
  CHECK(hub.server->cache().size() == 3);
  for (Spoke* s : {&a, &b, &c}) CHECK(s->agent->nhc().servers().up_count() == 1);

  const Prefix b_host = Prefix::host(b.protocol);
  m.hairpin(hub, a, b.protocol);
  m.settle();
  CHECK(a.shortcut(b_host) == ShortcutState::Active);
  CHECK(a.dataplane.route(b_host) == b.nbma);
  CHECK(shortcut_ensures(a) == std::vector<IpAddress>{b.nbma});
  CHECK(hub.server->redirect().stats().indications_sent == 1);

  for (int i = 0; i < 60; ++i) {  // a minute of traffic on the direct path
    a.dataplane.traffic(b.nbma);
    m.loop.advance(1s);
  }
  CHECK(a.shortcut(b_host) == ShortcutState::Active);
  m.loop.advance(121s);  // then silence for longer than the idle timeout
  m.settle();
  CHECK_FALSE(a.shortcut(b_host).has_value());
  CHECK_FALSE(a.dataplane.route(b_host).has_value());
  CHECK(a.provider.terminated == std::vector<IpAddress>{b.nbma});

  // New traffic makes a new shortcut once the redirect rate allows another.
  m.loop.advance(15s);
  m.hairpin(hub, a, b.protocol);
  m.settle();
  CHECK(a.shortcut(b_host) == ShortcutState::Active);
  CHECK(shortcut_ensures(a).size() == 2);
}

TEST_CASE("mission: the tunnel to the NHS comes first; the registration goes out the moment it is up") {
  Mission m;
  Hub& hub = m.add_hub();
  // GRE to the hub fails closed until the SA exists (strongswan-netns.md).
  m.fabric.set_link_down(ip("198.51.100.2"));
  m.ipsec_auto_up = false;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();
  CHECK(a.provider.ensured == std::vector<IpAddress>{kHubNbma});
  CHECK_FALSE(a.agent->tunnels().up(kHubNbma));
  m.loop.advance(3500ms);  // sends at 0, 1 and 3 s were lost; the next is due at 7 s
  CHECK(a.agent->nhc().servers().up_count() == 0);

  m.fabric.set_link_up(ip("198.51.100.2"));
  a.provider.report(kHubNbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();  // no time passes: the registration went out when the tunnel came up
  CHECK(a.agent->tunnels().up(kHubNbma));
  CHECK(a.agent->nhc().servers().up_count() == 1);
  CHECK(hub.server->cache().size() == 1);

  // The tunnel goes down (charon restarted): it is asked for again a second later.
  a.provider.report(kHubNbma, shortcut::TunnelState::Down, "charon connection lost");
  m.settle();
  CHECK_FALSE(a.agent->tunnels().up(kHubNbma));
  CHECK(a.provider.ensured.size() == 1);
  m.loop.advance(shortcut::TunnelPoolConfig{}.nhs_retry_initial);
  m.settle();
  CHECK(a.provider.ensured == std::vector<IpAddress>{kHubNbma, kHubNbma});
  // The registration itself was never lost: the NHS still holds it.
  CHECK(a.agent->nhc().servers().up_count() == 1);
}

TEST_CASE("TunnelBroker: a shortcut's lease cannot take down the tunnel of an NHS; others' can") {
  fakes::FakeLoop loop;
  fakes::FakeIpsecProvider provider(loop);
  provider.auto_up = true;
  std::vector<IpAddress> paths_up;
  TunnelBroker tunnels(provider, loop, loop, [&](const IpAddress& nbma, bool up) {
    if (up) paths_up.push_back(nbma);
  });
  tunnels.start({kHubNbma});
  loop.run_until_idle();
  CHECK(paths_up == std::vector<IpAddress>{kHubNbma});

  std::vector<shortcut::TunnelState> heard;
  auto shortcut_lease = tunnels.pool().lease(kHubNbma, shortcut::LeaseHolder::Shortcut,
                                             [&](shortcut::TunnelState state, const std::string&) {
                                               heard.push_back(state);
                                             });
  CHECK(heard.empty());  // never from inside lease()
  loop.run_until_idle();
  CHECK(heard == std::vector<shortcut::TunnelState>{shortcut::TunnelState::Up});  // up already
  shortcut_lease.reset();
  CHECK(provider.terminated.empty());
  CHECK(tunnels.up(kHubNbma));

  const IpAddress peer = ip("198.51.100.9");
  auto other = tunnels.pool().lease(peer, shortcut::LeaseHolder::Shortcut, nullptr);
  loop.run_until_idle();
  CHECK(paths_up.size() == 1);  // not an NHS
  other.reset();
  CHECK(provider.terminated == std::vector<IpAddress>{peer});
}

TEST_CASE("mission: the responder brings the tunnel to the requester up before it answers (Cisco phase 3)") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  const Prefix b_lan = Prefix::of(ip("192.168.2.0"), 24);
  // b got the forwarded request and asked for a tunnel to a; no reply yet.
  CHECK(shortcut_ensures(b) == std::vector<IpAddress>{a.nbma});
  CHECK(b.agent->nhc().responder().answered() == 0);
  CHECK(a.shortcut(Prefix::host(ip("192.168.2.20"))) ==
        ShortcutState::Resolving);  // keyed by the target until resolved

  b.provider.report(a.nbma, shortcut::TunnelState::Up, "CHILD_SA installed");
  m.settle();
  CHECK(b.agent->nhc().responder().answered() == 1);
  CHECK(a.shortcut(b_lan) == ShortcutState::Active);
  // Sent once more a little later (a's half of the SA may not have been
  // installed yet); a ignores the duplicate.
  m.loop.advance(TunnelBroker::kRepeatAfterSetup);
  m.settle();
  CHECK(b.agent->nhc().responder().answered() == 2);
  CHECK(a.shortcut(b_lan) == ShortcutState::Active);
  CHECK(shortcut_ensures(a).size() == 1);

  // Now b wants a shortcut to a: the tunnel is up already, so it is Active
  // without waiting for an Up the provider would not repeat.
  m.loop.advance(1s);
  m.hairpin(hub, b, a.protocol);
  m.settle();
  CHECK(b.shortcut(Prefix::host(a.protocol)) == ShortcutState::Active);
}

TEST_CASE("mission: a reply whose tunnel is given up goes through the NHS; the requester brings the tunnel up") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  for (unsigned i = 0; i < shortcut::TunnelPoolConfig{}.max_attempts; ++i) {
    b.provider.report(a.nbma, shortcut::TunnelState::Failed, "IKE timeout");
  }
  m.settle();
  CHECK(b.agent->tunnels().reply_tunnels() == 0);  // given up, its lease gone
  CHECK(b.provider.terminated == std::vector<IpAddress>{a.nbma});
  CHECK(b.agent->tunnels().replies_via_nhs() == 1);
  CHECK(b.agent->nhc().responder().answered() == 1);
  CHECK(a.shortcut(Prefix::of(ip("192.168.2.0"), 24)) == ShortcutState::Active);  // a initiated
  CHECK(shortcut_ensures(a) == std::vector<IpAddress>{b.nbma});
}

TEST_CASE("mission: a shortcut in use is refreshed before its holding time ends") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2", {}, [](SpokeAgentConfig& c) { c.shortcuts.idle_timeout = 3600s; });
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  m.hairpin(hub, a, b.protocol);
  m.settle();
  const Prefix b_host = Prefix::host(b.protocol);
  REQUIRE(a.shortcut(b_host) == ShortcutState::Active);
  // The hub answered from its cache with what remains of b's 600 s.
  for (int i = 0; i < 1200; ++i) {
    a.dataplane.traffic(b.nbma);
    m.loop.advance(1s);
    m.settle();
  }
  CHECK(a.shortcut(b_host) == ShortcutState::Active);
  CHECK(a.agent->shortcuts().stats().refreshed >= 1);
  CHECK(a.dataplane.route(b_host) == b.nbma);
}

TEST_CASE("mission: the hub restarts and answers resolutions from its store") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  hub.start(m.loop);  // a new NextHopServer on the same store
  CHECK(hub.server->cache().size() == 2);
  m.hairpin(hub, a, b.protocol);
  m.settle();
  CHECK(a.shortcut(Prefix::host(b.protocol)) == ShortcutState::Active);
}

TEST_CASE("mission: NHS fail-over: the second hub resolves when the first is gone") {
  Mission m;
  Hub& hub1 = m.add_hub();
  Hub& hub2 = m.add_hub(kHub2Nbma, kHub2Protocol);
  const std::vector<spoke::NhsEntry> both{{kHubNbma, kHubProtocol, 0}, {kHub2Nbma, kHub2Protocol, 1}};
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2", both);
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3", both);
  m.settle();
  CHECK(hub1.server->cache().size() == 2);
  CHECK(hub2.server->cache().size() == 2);

  m.fabric.set_link_down(kHubNbma);
  // The spokes notice at their next refresh (holdtime/3) and retransmissions.
  m.loop.advance(200s + 130s);
  m.settle();
  CHECK(a.agent->nhc().servers().up_count() == 1);
  // Hub 2 redirects (hub 1 is dead): the resolution goes through hub 2.
  m.hairpin(hub2, a, b.protocol);
  m.settle();
  CHECK(a.shortcut(Prefix::host(b.protocol)) == ShortcutState::Active);
}

TEST_CASE("mission: a purge from the hub removes the shortcut the same way") {
  ShortcutUp up;
  auto& [m, hub, a, b] = up;
  const Prefix b_host = up.b_host();
  REQUIRE(hub.server->clear_registration(b.protocol).ok());
  m.settle();
  CHECK_FALSE(a.shortcut(b_host).has_value());
  CHECK_FALSE(a.dataplane.route(b_host).has_value());
  CHECK(a.provider.terminated == std::vector<IpAddress>{b.nbma});
}

// A Purge Request to `to`, for `protocol`, as `from` (NBMA transport) sends it.
void send_purge(fakes::FabricTransport& from, const IpAddress& from_protocol, const Spoke& to,
                const IpAddress& protocol) {
  nhrp::PurgeRequestSpec spec;
  spec.sender = {from.local_address(), from_protocol, nhrp::Dialect::Cisco, std::nullopt};
  spec.dst_protocol = to.protocol;
  spec.request_id = 77;
  nhrp::Cie cie;
  cie.prefix_length = 32;
  cie.protocol = protocol;
  spec.cies.push_back(cie);
  auto bytes = nhrp::encode(nhrp::build_purge_request(spec));
  REQUIRE(bytes.ok());
  REQUIRE(from.send(to.nbma, nhrp::kGreProtocolNhrp, *bytes, 0).ok());
}

TEST_CASE("mission: a purge from the shortcut's peer removes it; one from a stranger does not (RFC 2332 5.2.5)") {
  ShortcutUp up;
  auto& [m, hub, a, b] = up;
  const Prefix b_host = up.b_host();
  auto stranger = m.fabric.create_endpoint(ip("198.51.100.66"));
  REQUIRE(stranger.ok());

  send_purge(**stranger, ip("10.0.0.66"), a, b.protocol);
  m.settle();
  CHECK(a.shortcut(b_host) == ShortcutState::Active);
  CHECK(a.agent->nhc().stats().error_count("purge request from a station that is neither NHS nor peer") == 1);

  send_purge(*b.transport, b.protocol, a, b.protocol);
  m.settle();
  CHECK_FALSE(a.shortcut(b_host).has_value());
  CHECK(a.provider.terminated == std::vector<IpAddress>{b.nbma});
}

TEST_CASE("mission: a shortcut to a spoke behind NAT goes to its public address") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  REQUIRE(m.fabric.add_nat(ip("192.168.1.10"), ip("198.51.100.20")).ok());  // before it registers
  Spoke& natted = m.add_spoke("192.168.1.10", "10.0.0.5");
  m.settle();
  m.hairpin(hub, a, natted.protocol);
  m.settle();
  const Prefix host = Prefix::host(natted.protocol);
  REQUIRE(a.shortcut(host) == ShortcutState::Active);
  CHECK(a.dataplane.route(host) == ip("198.51.100.20"));
  CHECK(shortcut_ensures(a) == std::vector<IpAddress>{ip("198.51.100.20")});
  // And from the NATted spoke towards a.
  m.hairpin(hub, natted, a.protocol);
  m.settle();
  CHECK(natted.shortcut(Prefix::host(a.protocol)) == ShortcutState::Active);
}

TEST_CASE("mission: a LAN behind a spoke: the hub forwards, the spoke answers for its prefix") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3", {}, [](SpokeAgentConfig& c) {
    c.nhc.local_prefixes.push_back({ip("192.168.2.0"), 24});
    c.nhc.register_local_prefixes = true;
  });
  m.settle();
  m.hairpin(hub, a, ip("192.168.2.20"));
  m.settle();
  const Prefix lan = Prefix::of(ip("192.168.2.0"), 24);
  CHECK(a.shortcut(lan) == ShortcutState::Active);
  CHECK(a.dataplane.route(lan) == b.nbma);
  // b learned a's binding from the request it answered.
  CHECK(b.agent->nhc().responder().peers().size() >= 1);
}

TEST_CASE("mission: the peer never answers IKE: the traffic stays on the hub path") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  a.provider.auto_up = false;
  m.settle();
  m.hairpin(hub, a, b.protocol);
  m.settle();
  const Prefix b_host = Prefix::host(b.protocol);
  CHECK(a.shortcut(b_host) == ShortcutState::Connecting);
  m.loop.advance(31s);
  CHECK(a.shortcut(b_host) == ShortcutState::Failed);
  CHECK(a.dataplane.changes.empty());
}

TEST_CASE("mission: a resolution for nobody fails cleanly and is not retried at once") {
  Mission m;
  Hub& hub = m.add_hub();
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();
  m.hairpin(hub, a, ip("10.0.0.99"));
  m.settle();
  CHECK(a.shortcut(Prefix::host(ip("10.0.0.99"))) == ShortcutState::Failed);
  CHECK(shortcut_ensures(a).empty());
  m.loop.advance(15s);
  m.hairpin(hub, a, ip("10.0.0.99"));  // the hub redirects again; the spoke is backing off / negative-cached
  m.settle();
  CHECK(shortcut_ensures(a).empty());
}

TEST_CASE("mission: clean shutdown puts shortcuts back on the hub and purges the registration") {
  ShortcutUp up;
  auto& [m, hub, a, b] = up;
  bool done = false;
  a.agent->shutdown([&] { done = true; });
  m.settle();
  m.loop.advance(5s);
  CHECK(done);
  CHECK(a.dataplane.routes.empty());
  CHECK_FALSE(hub.server->cache().find_address(a.protocol, 32).size() > 0);
}

}  // namespace
}  // namespace advpnd::agent
