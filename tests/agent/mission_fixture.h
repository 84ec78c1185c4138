// The in-process mission fixture shared by the agent tests: a real hub
// (hub::NextHopServer) and spoke agents (NHC + shortcut manager) over the
// in-memory NBMA fabric with a fake clock, the fake IPsec provider and fake
// dataplanes, each assembled as the daemons assemble them (node/).
// Hair-pinned traffic is reported to the hub's redirect policy as its
// dataplane would; the rest happens on the wire.
#pragma once

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "agent/spoke_agent.h"
#include "base/log.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_ipsec_provider.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "hub/next_hop_server.h"
#include "node/hub_node.h"
#include "node/spoke_node.h"

namespace advpnd::agent::testing {

using namespace std::chrono_literals;
using shortcut::Prefix;
using shortcut::ShortcutState;

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

inline const IpAddress kHubNbma = ip("203.0.113.1");
inline const IpAddress kHubProtocol = ip("10.0.0.1");
inline const IpAddress kHub2Nbma = ip("203.0.113.2");
inline const IpAddress kHub2Protocol = ip("10.0.0.254");

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
    assembled =
        std::make_unique<node::HubNode>(node::HubNodeConfig{config, {}}, node::HubSeams{*transport, store, loop, loop});
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
    assembled = std::make_unique<node::SpokeNode>(
        node::SpokeNodeConfig{config, {}}, node::SpokeSeams{*transport, provider, loop, loop, nullptr, &dataplane});
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
inline std::vector<IpAddress> shortcut_ensures(const Spoke& spoke) {
  std::vector<IpAddress> out;
  for (const auto& peer : spoke.provider.ensured) {
    if (peer != kHubNbma && peer != kHub2Nbma) out.push_back(peer);
  }
  return out;
}

// An ICMP echo header from `src` to `dst` (what the hub quotes in a redirect).
inline std::vector<std::byte> ip_packet(const IpAddress& src, const IpAddress& dst) {
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

}  // namespace advpnd::agent::testing
