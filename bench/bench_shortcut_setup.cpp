// Shortcut set-up time, in process (issue: "from Traffic Indication
// received to direct path active"): a real hub and two spoke agents over
// the in-memory fabric, the fake IPsec provider reporting Up at once. One
// iteration = the hub redirects spoke A about traffic to B; A resolves B
// through the hub, asks the provider, and routes B's prefix to B's NBMA.
// Everything but the IKE exchange (bench_vici_setup measures that against
// real charon) is on this path.
//
//   build/default/bench/bench_shortcut_setup --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
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

namespace {

using namespace advpnd;
using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

struct Station {
  std::unique_ptr<fakes::FabricTransport> transport;
  std::unique_ptr<fakes::FakeIpsecProvider> provider;
  fakes::FakeDataplane dataplane;
  std::unique_ptr<node::SpokeNode> assembled;  // the daemon's assembly (node/spoke_node.h)
  agent::SpokeAgent* agent = nullptr;
};

void BM_TrafficIndicationToDirectPath(benchmark::State& state) {
  log::set_level(log::Level::Error);
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  auto hub_transport = std::move(fabric.create_endpoint(ip("203.0.113.1"))).value();
  db::FakeRegistrationStore store;
  hub::NhsConfig hub_config;
  hub_config.nbma = ip("203.0.113.1");
  hub_config.protocol = ip("10.0.0.1");
  hub_config.redirect.rate = {1e9, 1e9};  // the benchmark redirects as fast as it can
  node::HubNode hub_node(node::HubNodeConfig{hub_config, {}}, node::HubSeams{*hub_transport, store, loop, loop});
  if (!hub_node.start().ok()) std::abort();
  hub::NextHopServer& hub = hub_node.nhs();

  auto make_spoke = [&](const char* nbma, const char* protocol) {
    auto s = std::make_unique<Station>();
    s->transport = std::move(fabric.create_endpoint(ip(nbma))).value();
    s->provider = std::make_unique<fakes::FakeIpsecProvider>(loop);
    s->provider->auto_up = true;
    agent::SpokeAgentConfig config;
    config.nhc.nbma = ip(nbma);
    config.nhc.protocol = ip(protocol);
    config.nhc.servers.push_back({ip("203.0.113.1"), ip("10.0.0.1"), 0});
    config.nhc.resolution_rate = {1e9, 1e9};
    config.shortcuts.indication_rate = {1e9, 1e9};
    s->assembled = std::make_unique<node::SpokeNode>(
        node::SpokeNodeConfig{config, {}},
        node::SpokeSeams{*s->transport, *s->provider, loop, loop, nullptr, &s->dataplane});
    s->agent = &s->assembled->agent();
    if (!s->assembled->start().ok()) std::abort();
    return s;
  };
  auto a = make_spoke("198.51.100.2", "10.0.0.2");
  auto b = make_spoke("198.51.100.3", "10.0.0.3");
  loop.run_until_idle();

  std::vector<std::byte> packet(28);
  packet[0] = std::byte{0x45};
  const IpAddress src = ip("10.0.0.2");
  const IpAddress dst = ip("10.0.0.3");
  for (int i = 0; i < 4; ++i) {
    packet[12 + i] = std::byte{src.byte(static_cast<std::size_t>(i))};
    packet[16 + i] = std::byte{dst.byte(static_cast<std::size_t>(i))};
  }
  const auto b_host = shortcut::Prefix::host(dst);
  for (auto _ : state) {
    hub.redirect().on_hairpin(ip("198.51.100.2"), packet);
    loop.run_until_idle();
    if (a->agent->shortcuts().state_of(b_host) != shortcut::ShortcutState::Active) std::abort();
    state.PauseTiming();
    a->agent->shortcuts().on_purge(dst);  // back to the hub for the next round
    loop.run_until_idle();
    loop.advance(1s);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrafficIndicationToDirectPath)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
