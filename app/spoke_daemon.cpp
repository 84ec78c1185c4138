#include "app/spoke_daemon.h"

#include <csignal>

#include "app/control_server.h"
#include "app/daemon_parts.h"
#include "app/metrics.h"
#include "app/process_tuning.h"
#include "app/routing_setup.h"
#include "app/spoke_config.h"
#include "app/spoke_control.h"
#include "app/spoke_reload.h"
#include "base/log.h"
#include "dataplane/tun_device.h"
#include "node/spoke_node.h"
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

int run_spoke(const std::string& config_path, const PrivilegeRequest& privileges) {
  auto config = load_spoke_config(config_path);
  if (!config) {
    log_config_errors(kLog, config.error());
    return 2;
  }
  log::set_level(config->log_level);
  log_config_warnings(kLog, config->warnings);
  tune_allocator();
  const spoke::NhcConfig& nhc = config->agent.nhc;

  auto loop = platform::EventLoop::create();
  if (!loop) {
    log::error(kLog, loop.error());
    return 1;
  }
  auto transport = open_nbma(**loop, nhc.nbma, config->gre_key, config->ipsec_interface);
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
  // and the kernel's table for BGP next hops in the overlay. Before the
  // privileges go.
  auto routing = start_routing(**loop, config->routing, (*device)->ifindex());
  if (!routing) {
    log::error(kLog, routing.error());
    return 1;
  }
  if (!drop_privileges_after_start(privileges, {config->control_socket}, kLog)) return 1;
  auto provider = make_provider(**loop, *config);
  node::SpokeNodeConfig node_config;
  node_config.agent = config->agent;
  node_config.dataplane.gre_key = config->gre_key.has_value();
  node_config.dataplane.multicast = config->multicast;
  node_config.dataplane.routing = (*routing)->view((*device)->ifindex());  // and the responder's LAN answers (node/)
  node::SpokeNode spoke(node_config, node::SpokeSeams{**transport, *provider, **loop, **loop, device->get()},
                        [](const IpAddress& primary) {
                          log::info(kLog, !primary.empty() ? "hub path via " + primary.to_string() : "no NHS is up");
                        });
  if (auto started = spoke.start(); !started) {
    log::error(kLog, started.error());
    return 1;
  }

  std::unique_ptr<Timer> shutdown_deadline;
  auto stop = [&](int signo) {
    if (shutdown_deadline) return;  // already leaving
    log::info(kLog, std::string("signal ") + strsignal(signo) + ": shortcuts back to the hub, purging registrations");
    shutdown_deadline = (*loop)->make_timer([&] { (*loop)->stop(); });
    shutdown_deadline->arm(kShutdownGrace);
    spoke.stop([&] { (*loop)->stop(); });
  };
  auto signals = watch_daemon_signals(**loop, stop, [&] {
    auto reloaded = load_spoke_config(config_path);
    if (!reloaded) {
      log_config_errors(kLog, reloaded.error(), "SIGHUP: keeping the running config: ");
      return;
    }
    const ReloadOutcome outcome = reload_spoke(spoke.agent(), *config, *reloaded);
    if (!outcome.needing_restart.empty()) log::warning(kLog, restart_warning(outcome.needing_restart));
    log_config_warnings(kLog, reloaded->warnings);
    log::set_level(reloaded->log_level);
    std::string applied;
    for (const std::string& what : outcome.applied) applied += ", " + what;
    log::info(kLog, "SIGHUP: configuration reloaded from " + config_path + applied);
  });
  if (!signals) {
    log::error(kLog, "cannot watch signals: " + signals.error());
    return 1;
  }

  const SpokeParts parts{spoke.agent(), transport->get(), spoke.dataplane()};
  auto control = open_control(**loop, config->control_socket,
                              [parts](std::string_view command) { return spoke_control(parts, command); });
  if (!control) {
    log::error(kLog, control.error());
    return 1;
  }
  std::unique_ptr<platform::HttpServer> metrics;
  if (config->metrics_listen) {
    auto opened = open_metrics(**loop, *config->metrics_listen, [parts] { return spoke_metrics(parts); });
    if (!opened) {
      log::error(kLog, opened.error());
      return 1;
    }
    metrics = std::move(opened).value();
    log::info(kLog, "metrics on http://" + config->metrics_listen->to_string() + "/metrics");
  }

  return run_until_stopped(**loop, kLog,
                           "NHC " + nhc.protocol.to_string() + " on " + nhc.nbma.to_string() + ", overlay " +
                               (*device)->name() + ", " + std::to_string(nhc.servers.size()) + " NHS, IPsec provider " +
                               std::string(provider->name()) + ", control " + config->control_socket);
}

}  // namespace advpnd::app
