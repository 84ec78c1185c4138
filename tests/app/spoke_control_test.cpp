// What advpnctl asks a spoke (app/spoke_control.h) and the metrics it
// serves (app/metrics.h), in process: a real hub (hub::NextHopServer) and
// three spoke agents over the in-memory fabric with the fake clock, IPsec
// provider and dataplanes; spoke a has shortcuts to b and c.
#include "app/spoke_control.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <memory>

#include "agent/spoke_agent.h"
#include "app/debug_control.h"
#include "app/metrics.h"
#include "app/spoke_reload.h"
#include "base/log.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_ipsec_provider.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "hub/next_hop_server.h"
#include "tests/app/json_reader.h"

namespace advpnd::app {
namespace {

using namespace std::chrono_literals;
using shortcut::Prefix;
using shortcut::ShortcutState;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kHubNbma = ip("203.0.113.1");
const IpAddress kHubProtocol = ip("10.0.0.1");

struct Spoke {
  Spoke(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, const char* nbma_text, const char* protocol_text)
      : nbma(ip(nbma_text)), protocol(ip(protocol_text)), provider(loop) {
    auto endpoint = fabric.create_endpoint(nbma);
    REQUIRE(endpoint.ok());
    transport = std::move(endpoint).value();
    agent::SpokeAgentConfig config;
    config.nhc.nbma = nbma;
    config.nhc.protocol = protocol;
    config.nhc.jitter = 0.0;
    config.nhc.servers.push_back({kHubNbma, kHubProtocol, 0});
    config.shortcuts.indication_rate = {100.0, 100.0};
    provider.auto_up = true;
    provider.journal = &journal;
    dataplane.journal = &journal;
    agent = std::make_unique<agent::SpokeAgent>(config, *transport, provider, dataplane, loop, loop);
    REQUIRE(agent->start().ok());
  }
  IpAddress nbma;
  IpAddress protocol;
  std::vector<std::string> journal;  // route and tunnel calls, in order
  std::unique_ptr<fakes::FabricTransport> transport;
  fakes::FakeIpsecProvider provider;
  fakes::FakeDataplane dataplane;
  std::unique_ptr<agent::SpokeAgent> agent;
};

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

struct TwoShortcuts {
  TwoShortcuts() : fabric(loop) {
    log::set_level(log::Level::Warning);
    auto endpoint = fabric.create_endpoint(kHubNbma);
    REQUIRE(endpoint.ok());
    hub_transport = std::move(endpoint).value();
    hub::NhsConfig config;
    config.nbma = kHubNbma;
    config.protocol = kHubProtocol;
    hub = std::make_unique<hub::NextHopServer>(config, *hub_transport, store, loop, loop);
    REQUIRE(hub->start().ok());
    for (const auto& [nbma, protocol] : {std::pair{"198.51.100.2", "10.0.0.2"}, std::pair{"198.51.100.3", "10.0.0.3"},
                                         std::pair{"198.51.100.4", "10.0.0.4"}}) {
      spokes.push_back(std::make_unique<Spoke>(fabric, loop, nbma, protocol));
    }
    loop.run_until_idle();
    for (const Spoke* to : {&b(), &c()}) {
      hub->redirect().on_hairpin(a().nbma, ip_packet(a().protocol, to->protocol));
      loop.run_until_idle();
      REQUIRE(state(Prefix::host(to->protocol)) == ShortcutState::Active);
    }
  }
  ~TwoShortcuts() { log::set_level(log::Level::Info); }
  Spoke& a() { return *spokes[0]; }
  Spoke& b() { return *spokes[1]; }
  Spoke& c() { return *spokes[2]; }
  std::optional<ShortcutState> state(const Prefix& prefix) { return a().agent->shortcuts().state_of(prefix); }
  ControlReply ask(std::string_view command) { return spoke_control(SpokeParts{*a().agent}, command); }

  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric;
  std::unique_ptr<fakes::FabricTransport> hub_transport;
  db::FakeRegistrationStore store;
  std::unique_ptr<hub::NextHopServer> hub;
  std::deque<std::unique_ptr<Spoke>> spokes;
};

}  // namespace

TEST_CASE("spoke control: clear shortcut PEER closes that one, hub path first; clear shortcut closes the rest") {
  TwoShortcuts t;
  const Prefix to_b = Prefix::host(t.b().protocol);
  const Prefix to_c = Prefix::host(t.c().protocol);
  t.a().journal.clear();

  const ControlReply one = t.ask("clear shortcut " + t.b().protocol.to_string());
  CHECK(one.ok);
  CHECK(one.body == "closing 1 shortcut(s) to 10.0.0.3: traffic back through the hub\n");
  t.loop.run_until_idle();
  CHECK_FALSE(t.state(to_b).has_value());
  CHECK_FALSE(t.a().dataplane.route(to_b).has_value());
  CHECK(t.state(to_c) == ShortcutState::Active);
  CHECK(t.a().provider.terminated == std::vector<IpAddress>{t.b().nbma});
  // Make before break in reverse: the route leaves the peer before the tunnel goes.
  REQUIRE(t.a().journal.size() >= 2);
  CHECK(t.a().journal[0].find("hub") != std::string::npos);
  CHECK(t.a().journal[1].find("terminate") != std::string::npos);

  const ControlReply rest = t.ask("clear shortcut --json");
  CHECK(rest.ok);
  CHECK(rest.body == "closing 1 shortcut(s): traffic back through the hub\n");
  t.loop.run_until_idle();
  CHECK(t.a().agent->shortcuts().list().empty());
  CHECK(t.a().provider.terminated == std::vector<IpAddress>{t.b().nbma, t.c().nbma});

  const ControlReply nobody = t.ask("clear shortcut 10.0.0.99");
  CHECK(nobody.ok);
  CHECK(nobody.body.find("closing 0 shortcut(s)") == 0);
  const ControlReply bad = t.ask("clear shortcut 10.0.0");
  CHECK_FALSE(bad.ok);
  CHECK(bad.body == "\"10.0.0\" is not an IP address\n");
}

TEST_CASE("spoke control: show stats counts shortcut failures; the metrics say the same") {
  TwoShortcuts t;
  const test::JsonValue stats = test::parse_json(t.ask("show stats --json").body);
  CHECK(stats["shortcuts"]["established"].as_int() == 2);
  CHECK_FALSE(stats.has("dataplane"));  // none handed in

  const std::string metrics = spoke_metrics(SpokeParts{*t.a().agent});
  CHECK(metrics.find("advpnd_shortcuts{state=\"active\"} 2\n") != std::string::npos);
  CHECK(metrics.find("advpnd_shortcuts_established_total 2\n") != std::string::npos);
  CHECK(metrics.find("advpnd_shortcut_setup_seconds_count 2\n") != std::string::npos);
  CHECK(metrics.find("advpnd_shortcut_setup_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(metrics.find("advpnd_nhs_up{nbma=\"203.0.113.1\"} 1\n") != std::string::npos);
  CHECK(metrics.find("advpnd_nhs_tunnel_up{nbma=\"203.0.113.1\"} 1\n") != std::string::npos);
  CHECK(metrics.find("advpnd_nhs_state{nbma=\"203.0.113.1\",state=\"registered\"} 1\n") != std::string::npos);
  CHECK(metrics.find("advpnd_shortcut_failures_total{reason=\"tunnel-failed\"} 0\n") != std::string::npos);
}

TEST_CASE("spoke reload: a new NHS and new timers apply, working shortcuts stay, the rest is named") {
  TwoShortcuts t;
  SpokeDaemonConfig running;
  running.agent.nhc.servers.push_back({kHubNbma, kHubProtocol, 0});
  running.values = {{"nhs[0].nbma_address", "'203.0.113.1'"}, {"shortcuts.idle_timeout", "120"}, {"spoke.mtu", "1400"}};
  SpokeDaemonConfig reloaded = running;
  reloaded.agent.nhc.servers.push_back({ip("203.0.113.2"), ip("10.0.0.254"), 1});
  reloaded.agent.shortcuts.idle_timeout = 30s;
  reloaded.values["nhs[1].nbma_address"] = "'203.0.113.2'";
  reloaded.values["shortcuts.idle_timeout"] = "30";
  reloaded.values["spoke.mtu"] = "1300";

  const ReloadOutcome outcome = reload_spoke(*t.a().agent, running, reloaded);
  CHECK(outcome.applied == std::vector<std::string>{"NHS 203.0.113.2 added", "shortcut timers"});
  CHECK(outcome.needing_restart == std::vector<std::string>{"spoke.mtu"});
  t.loop.run_until_idle();
  CHECK(t.a().agent->nhc().servers().status().size() == 2);
  CHECK(std::count(t.a().provider.ensured.begin(), t.a().provider.ensured.end(), ip("203.0.113.2")) == 1);
  CHECK(t.state(Prefix::host(t.b().protocol)) == ShortcutState::Active);
  CHECK(t.state(Prefix::host(t.c().protocol)) == ShortcutState::Active);
  CHECK(running.values["spoke.mtu"] == "1400");  // kept: it needs a restart
  CHECK(running.values["shortcuts.idle_timeout"] == "30");

  // The new idle timeout applies: 31 s without traffic and both shortcuts are closed.
  t.loop.advance(31s);
  t.loop.run_until_idle();
  CHECK(t.a().agent->shortcuts().list().empty());

  // An NHS gone from the file is named, not removed under the running spoke.
  SpokeDaemonConfig without_first = running;
  without_first.agent.nhc.servers.erase(without_first.agent.nhc.servers.begin());
  const ReloadOutcome removal = reload_spoke(*t.a().agent, running, without_first);
  CHECK(removal.needing_restart == std::vector<std::string>{"nhs[0] (203.0.113.1)"});
  CHECK(t.a().agent->nhc().servers().status().size() == 2);
}

TEST_CASE("debug control: categories on and off, all off, and refusals") {
  log::clear_component_levels();
  REQUIRE(log::level() == log::Level::Info);
  CHECK(debug_control({"nhs", "on"}, false).ok);
  CHECK(log::enabled(log::Level::Debug, "nhs"));
  CHECK_FALSE(log::enabled(log::Level::Debug, "nhc"));
  CHECK(debug_control({"all", "on"}, false).ok);
  CHECK(log::enabled(log::Level::Debug, "nhc"));
  CHECK(debug_control({"all", "off"}, false).ok);
  CHECK_FALSE(log::enabled(log::Level::Debug, "nhs"));
  CHECK(log::component_levels().empty());

  // With log_level = "debug", off quiets a category all the same.
  log::set_level(log::Level::Debug);
  CHECK(debug_control({"shortcut", "off"}, false).ok);
  CHECK_FALSE(log::enabled(log::Level::Debug, "shortcut"));
  CHECK(log::enabled(log::Level::Info, "shortcut"));
  CHECK(log::enabled(log::Level::Debug, "nhs"));
  log::set_level(log::Level::Info);
  log::clear_component_levels();

  const ControlReply unknown = debug_control({"bogus", "on"}, false);
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.body.find("unknown debug category \"bogus\"; known: control, dataplane") == 0);
  CHECK_FALSE(debug_control({"nhs", "maybe"}, false).ok);
  CHECK_FALSE(debug_control({"nhs"}, false).ok);
  const test::JsonValue shown = test::parse_json(debug_control({}, true).body);
  CHECK(shown["categories"].size() == std::size(kLogCategories));
}

}  // namespace advpnd::app
