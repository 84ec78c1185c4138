#include "app/hub_daemon.h"

#include <csignal>

#include "app/control_server.h"
#include "app/daemon_parts.h"
#include "app/hub_config.h"
#include "app/hub_control.h"
#include "app/process_tuning.h"
#include "app/routing_setup.h"
#include "base/log.h"
#include "dataplane/hub_dataplane.h"
#include "dataplane/tun_device.h"
#include "db/sqlite_registration_store.h"
#include "hub/next_hop_server.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "hub";

}  // namespace

int run_hub(const std::string& config_path) {
  auto config = load_hub_config(config_path);
  if (!config) {
    log::error(kLog, "bad config: " + config.error().to_string());
    return 2;
  }
  log::set_level(config->log_level);
  tune_allocator();

  auto loop = platform::EventLoop::create();
  if (!loop) {
    log::error(kLog, loop.error());
    return 1;
  }
  make_parent_directory(config->database);
  auto store = db::SqliteRegistrationStore::open(config->database, config->store);
  if (!store) {
    log::error(kLog, "cannot open the registration store " + config->database + ": " + store.error().to_string());
    return 1;
  }
  auto transport = open_nbma(**loop, config->nhs.nbma, config->gre_key);
  if (!transport) {
    log::error(kLog, transport.error());
    return 1;
  }
  hub::NextHopServer nhs(config->nhs, **transport, **store, **loop, **loop);
  if (auto started = nhs.start(); !started) {
    log::error(kLog, started.error());
    return 1;
  }
  // The overlay: the hub's own device, and spoke-to-spoke forwarding that
  // tells the redirect policy of every hair-pin.
  auto device =
      open_overlay(**loop, config->tun_name, config->nhs.protocol, config->overlay_prefix_length, config->tunnel_mtu);
  if (!device) {
    log::error(kLog, device.error());
    return 1;
  }
  // What no binding covers follows the kernel's routes (its LANs, a data
  // centre, BGP next hops in the overlay).
  auto routing = start_routing(**loop, config->routing, (*device)->ifindex());
  if (!routing) {
    log::error(kLog, routing.error());
    return 1;
  }
  dataplane::HubDataplaneConfig dp;
  dp.local_prefixes.push_back(shortcut::Prefix::host(config->nhs.protocol));
  dp.routing = (*routing)->view((*device)->ifindex());
  // Resolutions no binding answers follow the same routes (RFC 2332 5.3).
  nhs.set_route_next_hop(
      [view = dp.routing](const IpAddress& destination) { return dataplane::overlay_gateway(view, destination); });
  dataplane::HubDataplane dataplane(dp, **device, **transport, nhs, **loop);
  auto stop = [&](int signo) {
    log::info(kLog, std::string("signal ") + strsignal(signo) + ": shutting down");
    nhs.on_batch_end();  // commit and answer what is open before leaving
    (*loop)->stop();
  };
  auto signals = watch_daemon_signals(**loop, stop, [&] {
    auto reloaded = load_hub_config(config_path);
    if (!reloaded) {
      log::error(kLog, "SIGHUP: keeping the running config: " + reloaded.error().to_string());
      return;
    }
    if (reloaded->nhs.nbma != config->nhs.nbma || reloaded->nhs.protocol != config->nhs.protocol ||
        reloaded->gre_key != config->gre_key || reloaded->database != config->database ||
        reloaded->control_socket != config->control_socket) {
      log::warning(kLog, "SIGHUP: addresses, GRE key, database and control socket change only on restart");
    }
    log::set_level(reloaded->log_level);
    nhs.reconfigure(reloaded->nhs);
    log::info(kLog, "SIGHUP: configuration reloaded from " + config_path);
  });
  if (!signals) {
    log::error(kLog, "cannot watch signals: " + signals.error());
    return 1;
  }

  auto control = open_control(
      **loop, config->control_socket,
      [&nhs, &dataplane, counters = transport->get()](std::string_view command) {
        return hub_control(nhs, command, counters, &dataplane);
      });
  if (!control) {
    log::error(kLog, control.error());
    return 1;
  }

  log::info(kLog, "NHS " + config->nhs.protocol.to_string() + " listening on " + config->nhs.nbma.to_string() +
                      (config->gre_key ? " GRE key " + std::to_string(*config->gre_key) : std::string(" no GRE key")) +
                      ", store " + config->database + ", control " + config->control_socket);
  return run_until_stopped(**loop, kLog);
}

}  // namespace advpnd::app
