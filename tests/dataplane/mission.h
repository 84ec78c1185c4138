// The in-process mission of the dataplane tests: a hub (NextHopServer +
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
#include "tests/dataplane/packets.h"

namespace advpnd::dataplane::test {

using namespace std::chrono_literals;
using dataplane::test::udp_packet;
using dataplane::test::UdpSpec;

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

inline const IpAddress kHubNbma = ip("203.0.113.1");
inline const IpAddress kHubProtocol = ip("10.0.0.1");

struct Hub {
  Hub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, KernelRouting routing = {}) {
    auto endpoint = fabric.create_endpoint(kHubNbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    hub::NhsConfig config;
    config.nbma = kHubNbma;
    config.protocol = kHubProtocol;
    server = std::make_unique<hub::NextHopServer>(config, *transport, store, loop, loop);
    REQUIRE(server->start().ok());
    HubDataplaneConfig dataplane_config;
    dataplane_config.local_prefixes = {shortcut::Prefix::host(kHubProtocol),
                                       shortcut::Prefix::of(ip("172.16.0.0"), 16)};
    dataplane_config.routing = routing;
    if (routing.routes != nullptr) {
      server->set_route_next_hop(
          [routing](const IpAddress& destination) { return overlay_gateway(routing, destination); });
    }
    dataplane = std::make_unique<HubDataplane>(dataplane_config, device, *transport, *server, loop);
  }
  [[nodiscard]] const hub::RedirectStats& redirects() const { return server->redirect().stats(); }

  std::unique_ptr<fakes::FabricTransport> transport;
  db::FakeRegistrationStore store;
  std::unique_ptr<hub::NextHopServer> server;
  InMemoryDevice device{"hub0", 1476};
  std::unique_ptr<HubDataplane> dataplane;
};

struct Spoke {
  Spoke(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address, IpAddress protocol_address,
        KernelRouting routing = {})
      : nbma(nbma_address), protocol(protocol_address), provider(loop), device("spoke0", 1476) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    SpokeDataplaneConfig dataplane_config;
    dataplane_config.routing = routing;
    dataplane = std::make_unique<SpokeDataplane>(dataplane_config, device, *transport, loop);
    agent::SpokeAgentConfig config;
    config.nhc.nbma = nbma;
    config.nhc.protocol = protocol;
    config.nhc.holding_time = 600;
    config.nhc.jitter = 0.0;
    config.nhc.servers = {{kHubNbma, kHubProtocol, 0}};
    config.shortcuts.idle_timeout = 120s;
    provider.auto_up = true;
    agent = std::make_unique<agent::SpokeAgent>(config, *transport, provider, *dataplane, loop, loop);
    // The daemon's wiring: overlay frames to the dataplane, the primary NHS as its hub.
    agent->nhc().set_data_frame_handler([this](const NbmaFrame& frame) { dataplane->on_frame(frame); });
    agent->nhc().servers().set_on_primary_change([this](const spoke::NhsRegistration* primary) {
      dataplane->set_hub_nbma(primary != nullptr ? primary->nbma() : IpAddress{});
    });
    if (routing.routes != nullptr) {
      agent->nhc().responder().set_routed_prefix(
          [routing](const IpAddress& target) { return lan_route_prefix(routing, target, kHubNbma); });
    }
    REQUIRE(agent->start().ok());
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
  std::unique_ptr<SpokeDataplane> dataplane;
  std::unique_ptr<agent::SpokeAgent> agent;
};

// Quiet from the first member on (the hub logs at info as it starts).
struct QuietLogs {
  QuietLogs() { log::set_level(log::Level::Error); }
  ~QuietLogs() { log::set_level(log::Level::Info); }
};

struct Mission {
  explicit Mission(KernelRouting hub_routing = {}) : fabric(loop), hub(fabric, loop, hub_routing) {}
  Spoke& add_spoke(const char* nbma, const char* protocol, KernelRouting routing = {}) {
    spokes.push_back(std::make_unique<Spoke>(fabric, loop, ip(nbma), ip(protocol), routing));
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
