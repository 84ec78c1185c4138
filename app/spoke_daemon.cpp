#include "app/spoke_daemon.h"

#include <csignal>

#include "agent/spoke_agent.h"
#include "app/control_server.h"
#include "app/daemon_parts.h"
#include "app/process_tuning.h"
#include "app/routing_setup.h"
#include "app/spoke_config.h"
#include "app/spoke_control.h"
#include "base/log.h"
#include "dataplane/spoke_dataplane.h"
#include "dataplane/tun_device.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"
#include "vici/none_provider.h"
#include "vici/strongswan_provider.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "spoke";
// A clean shutdown waits this long for purge replies before leaving anyway.
constexpr std::chrono::seconds kShutdownGrace{5};

std::unique_ptr<shortcut::IpsecProvider> make_provider(platform::EventLoop& loop, const SpokeDaemonConfig& config) {
  if (config.provider == ProviderKind::None) return std::make_unique<vici::NoneProvider>(loop);
  return std::make_unique<vici::StrongswanProvider>(loop, config.strongswan);
}
}  // namespace

int run_spoke(const std::string& config_path) {
  auto config = load_spoke_config(config_path);
  if (!config) {
    log::error(kLog, "bad config: " + config.error().to_string());
    return 2;
  }
  log::set_level(config->log_level);
  tune_allocator();
  const spoke::NhcConfig& nhc = config->agent.nhc;

  auto loop = platform::EventLoop::create();
  if (!loop) {
    log::error(kLog, loop.error());
    return 1;
  }
  auto transport = open_nbma(**loop, nhc.nbma, config->gre_key);
  if (!transport) {
    log::error(kLog, transport.error());
    return 1;
  }
  auto device = open_overlay(**loop, config->tun_name, nhc.protocol, config->overlay_prefix_length, config->tunnel_mtu);
  if (!device) {
    log::error(kLog, device.error());
    return 1;
  }
  // Routes into the overlay (installed here, so a restart puts them back),
  // and the kernel's table for BGP next hops in the overlay.
  auto routing = start_routing(**loop, config->routing, (*device)->ifindex());
  if (!routing) {
    log::error(kLog, routing.error());
    return 1;
  }
  dataplane::SpokeDataplaneConfig dp;
  dp.gre_key = config->gre_key.has_value();
  dp.routing = (*routing)->view((*device)->ifindex());
  dataplane::SpokeDataplane dataplane(dp, **device, **transport, **loop);
  auto provider = make_provider(**loop, *config);

  agent::SpokeAgent agent(config->agent, **transport, *provider, dataplane, **loop, **loop);
  // A LAN our kernel routes to (connected, static, learned by BGP/OSPF) is
  // answered with that route's prefix, as Cisco spokes do; the WAN (the
  // interface toward the first NHS) and default routes are not.
  const IpAddress wan_probe = nhc.servers.empty() ? IpAddress{} : nhc.servers.front().nbma;
  agent.nhc().responder().set_routed_prefix([view = dp.routing, wan_probe](const IpAddress& target) {
    return dataplane::lan_route_prefix(view, target, wan_probe);
  });
  agent.nhc().set_data_frame_handler([&dataplane](const NbmaFrame& frame) { dataplane.on_frame(frame); });
  // Overlay traffic without a shortcut follows the primary NHS (fail-over).
  agent.nhc().servers().set_on_primary_change([&dataplane](const spoke::NhsRegistration* primary) {
    dataplane.set_hub_nbma(primary != nullptr ? primary->nbma() : IpAddress{});
    log::info(kLog, primary != nullptr ? "hub path via " + primary->nbma().to_string() : "no NHS is up");
  });
  if (auto started = agent.start(); !started) {
    log::error(kLog, started.error());
    return 1;
  }

  std::unique_ptr<Timer> shutdown_deadline;
  auto stop = [&](int signo) {
    if (shutdown_deadline) return;  // already leaving
    log::info(kLog, std::string("signal ") + strsignal(signo) + ": shortcuts back to the hub, purging registrations");
    shutdown_deadline = (*loop)->make_timer([&] { (*loop)->stop(); });
    shutdown_deadline->arm(kShutdownGrace);
    agent.shutdown([&] { (*loop)->stop(); });
  };
  auto signals = watch_daemon_signals(**loop, stop, [&] {
    auto reloaded = load_spoke_config(config_path);
    if (!reloaded) {
      log::error(kLog, "SIGHUP: keeping the running config: " + reloaded.error().to_string());
      return;
    }
    log::set_level(reloaded->log_level);
    log::info(kLog, "SIGHUP: log level reloaded; other settings change on restart");
  });
  if (!signals) {
    log::error(kLog, "cannot watch signals: " + signals.error());
    return 1;
  }

  auto control = open_control(**loop, config->control_socket,
                                     [&agent](std::string_view command) { return spoke_control(agent, command); });
  if (!control) {
    log::error(kLog, control.error());
    return 1;
  }

  log::info(kLog, "NHC " + nhc.protocol.to_string() + " on " + nhc.nbma.to_string() + ", overlay " +
                      (*device)->name() + ", " + std::to_string(nhc.servers.size()) + " NHS, IPsec provider " +
                      std::string(provider->name()) + ", control " + config->control_socket);
  return run_until_stopped(**loop, kLog);
}

}  // namespace advpnd::app
