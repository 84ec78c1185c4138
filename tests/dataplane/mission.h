// The in-process mission of the dataplane tests, assembled as the daemons
// assemble them (node/): a hub (NextHopServer +
// HubDataplane) and spoke agents (Nhc + ShortcutManager + SpokeDataplane)
// over the in-memory fabric with the fake clock, the fake IPsec provider
// and in-memory TUN devices. Each dataplane can follow a route table
// (routing::FakeRouteSource) as the daemon's follows the kernel's.
#pragma once

#include <doctest/doctest.h>

#include <deque>
#include <memory>

#include "agent/spoke_agent.h"
#include "base/log.h"
#include "dataplane/hub_dataplane.h"
#include "dataplane/in_memory_device.h"
#include "dataplane/spoke_dataplane.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_ipsec_provider.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "node/hub_node.h"
#include "node/spoke_node.h"
#include "tests/dataplane/packets.h"

namespace advpnd::dataplane::test {

using namespace std::chrono_literals;
using dataplane::test::udp_packet;
using dataplane::test::UdpSpec;

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

inline const IpAddress kHubNbma = ip("203.0.113.1");
inline const IpAddress kHubProtocol = ip("10.0.0.1");

struct Hub {
  Hub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, KernelRouting routing = {},
      MulticastConfig multicast = {}) {
    auto endpoint = fabric.create_endpoint(kHubNbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    node::HubNodeConfig config;
    config.nhs.nbma = kHubNbma;
    config.nhs.protocol = kHubProtocol;
    config.dataplane.local_prefixes = {shortcut::Prefix::of(ip("172.16.0.0"), 16)};  // and the hub's own address
    config.dataplane.routing = routing;
    config.dataplane.multicast = multicast;
    // The daemon's assembly (node/hub_node.h), resolutions by route included.
    assembled = std::make_unique<node::HubNode>(config, node::HubSeams{*transport, store, loop, loop, &device});
    REQUIRE(assembled->start().ok());
    server = &assembled->nhs();
    dataplane = assembled->dataplane();
  }
  [[nodiscard]] const hub::RedirectStats& redirects() const { return server->redirect().stats(); }

  std::unique_ptr<fakes::FabricTransport> transport;
  db::FakeRegistrationStore store;
  InMemoryDevice device{"hub0", 1476};
  std::unique_ptr<node::HubNode> assembled;
  hub::NextHopServer* server = nullptr;
  HubDataplane* dataplane = nullptr;
};

struct Spoke {
  Spoke(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address, IpAddress protocol_address,
        KernelRouting routing = {}, MulticastConfig multicast = {})
      : nbma(nbma_address), protocol(protocol_address), provider(loop), device("spoke0", 1476) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    node::SpokeNodeConfig config;
    config.dataplane.routing = routing;
    config.dataplane.multicast = multicast;
    config.agent.nhc.nbma = nbma;
    config.agent.nhc.protocol = protocol;
    config.agent.nhc.holding_time = 600;
    config.agent.nhc.jitter = 0.0;
    config.agent.nhc.servers = {{kHubNbma, kHubProtocol, 0}};
    config.agent.shortcuts.idle_timeout = 120s;
    provider.auto_up = true;
    // The daemon's assembly and wiring (node/spoke_node.h): overlay frames to
    // the dataplane, the primary NHS as its hub, LAN answers by route.
    assembled = std::make_unique<node::SpokeNode>(config, node::SpokeSeams{*transport, provider, loop, loop, &device});
    agent = &assembled->agent();
    dataplane = assembled->dataplane();
    REQUIRE(assembled->start().ok());
  }
  std::vector<std::byte> packet_to(const IpAddress& destination, std::uint32_t sequence = 0, std::uint8_t ttl = 64) {
    UdpSpec spec{protocol, destination, 200, 0xB8};
    spec.sequence = sequence;
    spec.ttl = ttl;
    return udp_packet(spec);
  }

  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> transport;
  fakes::FakeIpsecProvider provider;
  InMemoryDevice device;
  std::unique_ptr<node::SpokeNode> assembled;
  SpokeDataplane* dataplane = nullptr;
  agent::SpokeAgent* agent = nullptr;
};

// Quiet from the first member on (the hub logs at info as it starts).
struct QuietLogs {
  QuietLogs() { log::set_level(log::Level::Error); }
  ~QuietLogs() { log::set_level(log::Level::Info); }
};

struct Mission {
  explicit Mission(KernelRouting hub_routing = {}, MulticastConfig hub_multicast = {})
      : fabric(loop), hub(fabric, loop, hub_routing, hub_multicast) {}
  Spoke& add_spoke(const char* nbma, const char* protocol, KernelRouting routing = {}, MulticastConfig multicast = {}) {
    spokes.push_back(std::make_unique<Spoke>(fabric, loop, ip(nbma), ip(protocol), routing, multicast));
    return *spokes.back();
  }
  void settle() { loop.run_until_idle(); }

  QuietLogs quiet;
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric;
  Hub hub;
  std::deque<std::unique_ptr<Spoke>> spokes;
};

}  // namespace advpnd::dataplane::test
