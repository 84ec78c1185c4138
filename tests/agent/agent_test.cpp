// In-process tier for the whole mission: a real hub (hub::NextHopServer)
// and three spoke agents (NHC + shortcut manager) over the in-memory NBMA
// fabric with a fake clock, the fake IPsec provider and fake dataplanes,
// each assembled as the daemons assemble them (node/).
// Hair-pinned traffic is reported to the hub's redirect policy as its
// dataplane would; the rest happens on the wire.
#include <doctest/doctest.h>

#include <deque>
#include <memory>

#include "agent/spoke_agent.h"
#include "base/log.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_ipsec_provider.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "hub/next_hop_server.h"
#include "node/hub_node.h"
#include "node/spoke_node.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"

namespace advpnd::agent {
namespace {

using namespace std::chrono_literals;
using shortcut::Prefix;
using shortcut::ShortcutState;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const IpAddress kHubNbma = ip("203.0.113.1");
const IpAddress kHubProtocol = ip("10.0.0.1");
const IpAddress kHub2Nbma = ip("203.0.113.2");
const IpAddress kHub2Protocol = ip("10.0.0.254");

struct Hub {
  Hub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma, IpAddress protocol) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    config.nbma = nbma;
    config.protocol = protocol;
    start(loop);
  }
  void start(fakes::FakeLoop& loop) {
    assembled.reset();
    assembled = std::make_unique<node::HubNode>(node::HubNodeConfig{config, {}}, node::HubSeams{*transport, store, loop, loop});
    server = &assembled->nhs();
    REQUIRE(assembled->start().ok());
  }
  hub::NhsConfig config;
  std::unique_ptr<fakes::FabricTransport> transport;
  db::FakeRegistrationStore store;
  std::unique_ptr<node::HubNode> assembled;  // the daemon's assembly, control plane only
  hub::NextHopServer* server = nullptr;
};

struct Spoke {
  Spoke(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address, IpAddress protocol_address,
        std::vector<spoke::NhsEntry> servers, const std::function<void(SpokeAgentConfig&)>& tweak, bool ipsec_auto_up)
      : nbma(nbma_address), protocol(protocol_address), provider(loop) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    SpokeAgentConfig config;
    config.nhc.nbma = nbma;
    config.nhc.protocol = protocol;
    config.nhc.holding_time = 600;
    config.nhc.jitter = 0.0;
    config.nhc.servers = std::move(servers);
    config.shortcuts.idle_timeout = 120s;
    if (tweak) tweak(config);
    provider.auto_up = ipsec_auto_up;  // like IKE that always succeeds; tests turn it off
    assembled = std::make_unique<node::SpokeNode>(node::SpokeNodeConfig{config, {}},
                                             node::SpokeSeams{*transport, provider, loop, loop, nullptr, &dataplane});
    agent = &assembled->agent();
    REQUIRE(assembled->start().ok());
  }
  [[nodiscard]] std::optional<ShortcutState> shortcut(const Prefix& prefix) const {
    return agent->shortcuts().state_of(prefix);
  }
  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> transport;
  fakes::FakeIpsecProvider provider;
  fakes::FakeDataplane dataplane;
  std::unique_ptr<node::SpokeNode> assembled;  // the daemon's assembly over a recording dataplane
  SpokeAgent* agent = nullptr;
};

// What the shortcut layer asked the provider for: every ensure but the
// agent's own ones for its NHSs (agent/tunnel_broker.h).
std::vector<IpAddress> shortcut_ensures(const Spoke& spoke) {
  std::vector<IpAddress> out;
  for (const auto& peer : spoke.provider.ensured) {
    if (peer != kHubNbma && peer != kHub2Nbma) out.push_back(peer);
  }
  return out;
}

// An ICMP echo header from `src` to `dst` (what the hub quotes in a redirect).
std::vector<std::byte> ip_packet(const IpAddress& src, const IpAddress& dst) {
  std::vector<std::byte> packet(28);
  packet[0] = std::byte{0x45};
  packet[9] = std::byte{1};
  for (int i = 0; i < 4; ++i) {
    packet[12 + i] = std::byte{src.byte(i)};
    packet[16 + i] = std::byte{dst.byte(i)};
  }
  return packet;
}

struct Mission {
  Mission() : fabric(loop) { log::set_level(log::Level::Warning); }
  ~Mission() { log::set_level(log::Level::Info); }

  Hub& add_hub(IpAddress nbma = kHubNbma, IpAddress protocol = kHubProtocol) {
    hubs.push_back(std::make_unique<Hub>(fabric, loop, nbma, protocol));
    return *hubs.back();
  }
  Spoke& add_spoke(const char* nbma, const char* protocol, std::vector<spoke::NhsEntry> servers = {},
                   const std::function<void(SpokeAgentConfig&)>& tweak = {}) {
    if (servers.empty()) servers.push_back({kHubNbma, kHubProtocol, 0});
    spokes.push_back(std::make_unique<Spoke>(fabric, loop, ip(nbma), ip(protocol), servers, tweak, ipsec_auto_up));
    return *spokes.back();
  }
  // Traffic from `from` to `to_address` hair-pins through `hub`.
  void hairpin(Hub& hub, Spoke& from, const IpAddress& to_address) {
    hub.server->redirect().on_hairpin(from.nbma, ip_packet(from.protocol, to_address));
  }
  void settle() { loop.run_until_idle(); }

  bool ipsec_auto_up = true;  // for the spokes added next
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric;
  std::deque<std::unique_ptr<Hub>> hubs;
  std::deque<std::unique_ptr<Spoke>> spokes;
};

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
  m.loop.advance(TunnelBroker::kNhsRetry);
  m.settle();
  CHECK(a.provider.ensured == std::vector<IpAddress>{kHubNbma, kHubNbma});
  // The registration itself was never lost: the NHS still holds it.
  CHECK(a.agent->nhc().servers().up_count() == 1);
}

TEST_CASE("TunnelBroker: a shortcut cannot take down the tunnel of an NHS; others pass through") {
  fakes::FakeLoop loop;
  fakes::FakeIpsecProvider provider(loop);
  provider.auto_up = true;
  std::vector<IpAddress> paths_up;
  TunnelBroker tunnels(provider, loop, [&](const IpAddress& nbma) { paths_up.push_back(nbma); });
  std::vector<std::pair<IpAddress, shortcut::TunnelState>> events;
  tunnels.set_listener([&](const IpAddress& peer, shortcut::TunnelState state, const std::string&) {
    events.emplace_back(peer, state);
  });
  tunnels.start({kHubNbma});
  loop.run_until_idle();
  CHECK(paths_up == std::vector<IpAddress>{kHubNbma});
  REQUIRE(events.size() == 1);  // the shortcut layer hears of it too
  CHECK(events[0].first == kHubNbma);

  tunnels.terminate(kHubNbma);
  CHECK(provider.terminated.empty());
  CHECK(events.size() == 1);  // never from inside terminate()
  loop.run_until_idle();
  REQUIRE(events.size() == 2);
  CHECK(events[1] == std::pair{kHubNbma, shortcut::TunnelState::Down});
  CHECK(tunnels.up(kHubNbma));

  const IpAddress peer = ip("198.51.100.9");
  tunnels.ensure(peer);
  loop.run_until_idle();
  CHECK(paths_up.size() == 1);  // not an NHS
  tunnels.terminate(peer);
  CHECK(provider.terminated == std::vector<IpAddress>{peer});
}

// a's traffic to the LAN behind b hair-pins; the hub forwards a's resolution
// to b, whose IPsec tunnels come up only when the test says so.
struct ResponderMission {
  ResponderMission() : hub(m.add_hub()), a(m.add_spoke("198.51.100.2", "10.0.0.2")), b(add_b(m)) {
    b.provider.report(kHubNbma, shortcut::TunnelState::Up);
    m.settle();
    m.hairpin(hub, a, ip("192.168.2.20"));
    m.settle();
  }
  static Spoke& add_b(Mission& m) {
    m.ipsec_auto_up = false;
    return m.add_spoke("198.51.100.3", "10.0.0.3", {}, [](SpokeAgentConfig& c) {
      c.nhc.local_prefixes.push_back({ip("192.168.2.0"), 24});
      c.nhc.register_local_prefixes = true;
    });
  }
  Mission m;
  Hub& hub;
  Spoke& a;
  Spoke& b;
};

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

TEST_CASE("mission: a reply waiting for a tunnel that fails is dropped; the requester's retry gets through") {
  ResponderMission r;
  auto& [m, hub, a, b] = r;
  b.provider.report(a.nbma, shortcut::TunnelState::Failed, "IKE timeout");
  m.settle();
  CHECK(b.agent->nhc().responder().answered() == 0);
  // a's resolution client retransmits; this time b's tunnel comes up.
  b.provider.auto_up = true;
  m.loop.advance(5s);
  m.settle();
  CHECK(b.agent->nhc().responder().answered() >= 1);
  CHECK(a.shortcut(Prefix::of(ip("192.168.2.0"), 24)) == ShortcutState::Active);
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

// a's traffic to b hair-pinned, the hub redirected, and a's shortcut to b is up.
struct ShortcutUp {
  ShortcutUp()
      : hub(m.add_hub()), a(m.add_spoke("198.51.100.2", "10.0.0.2")), b(m.add_spoke("198.51.100.3", "10.0.0.3")) {
    m.settle();
    m.hairpin(hub, a, b.protocol);
    m.settle();
    REQUIRE(a.shortcut(b_host()) == ShortcutState::Active);
  }
  [[nodiscard]] Prefix b_host() const { return Prefix::host(b.protocol); }
  Mission m;
  Hub& hub;
  Spoke& a;
  Spoke& b;
};

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
