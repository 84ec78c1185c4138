#include "app/hub_daemon.h"

#include <csignal>

#include "app/control_server.h"
#include "app/daemon_parts.h"
#include "app/hub_config.h"
#include "app/hub_control.h"
#include "app/metrics.h"
#include "app/process_tuning.h"
#include "app/routing_setup.h"
#include "base/log.h"
#include "dataplane/tun_device.h"
#include "db/sqlite_registration_store.h"
#include "node/hub_node.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"
#include "vici/sa_watcher.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "hub";

node::HubNodeConfig hub_node_config(const HubDaemonConfig& config) {
  node::HubNodeConfig out;
  out.nhs = config.nhs;
  out.dataplane.multicast = config.multicast;
  return out;
}
}  // namespace

int run_hub(const std::string& config_path, const PrivilegeRequest& privileges) {
  auto config = load_hub_config(config_path);
  if (!config) {
    log_config_errors(kLog, config.error());
    return 2;
  }
  log::set_level(config->log_level);
  log_config_warnings(kLog, config->warnings);
  tune_allocator();

  auto loop = platform::EventLoop::create();
  if (!loop) {
    log::error(kLog, loop.error());
    return 1;
  }
  const bool strongswan = config->provider == HubDaemonConfig::Provider::Strongswan;
  auto transport = open_nbma(**loop, config->nhs.nbma, config->gre_key, strongswan ? config->ipsec_interface : "");
  if (!transport) {
    log::error(kLog, transport.error());
    return 1;
  }
  // The overlay: the hub's own device, and (below) spoke-to-spoke forwarding
  // that tells the redirect policy of every hair-pin.
  auto device = open_overlay(**loop, config->tun_name, config->nhs.protocol, config->nhs.overlay_prefix_length,
                             config->tunnel_mtu);
  if (!device) {
    log::error(kLog, device.error());
    return 1;
  }
  // What no binding covers follows the kernel's routes (its LANs, a data
  // centre, BGP next hops in the overlay). Before the privileges go: the
  // overlay routes are installed now.
  auto routing = start_routing(**loop, config->routing, (*device)->ifindex());
  if (!routing) {
    log::error(kLog, routing.error());
    return 1;
  }
  // Socket and device open: nothing later needs privileges. The store is
  // opened after, so that its files belong to the user the hub runs as.
  if (!drop_privileges_after_start(privileges, {config->database, config->control_socket}, kLog)) return 1;
  make_parent_directory(config->database);
  auto store = db::SqliteRegistrationStore::open(config->database, config->store);
  if (!store) {
    log::error(kLog, "cannot open the registration store " + config->database + ": " + store.error().to_string());
    return 1;
  }
  // Commits run on the store's thread; their results come back here, to the
  // loop, which then applies them and sends the replies (db/registration_store.h).
  auto commits_done =
      (*loop)->watch_readable((*store)->completion_fd(), [&store] { (void)(*store)->deliver_completions(); });
  if (!commits_done) {
    log::error(kLog, "cannot watch the store: " + commits_done.error());
    return 1;
  }
  node::HubNodeConfig node_config = hub_node_config(*config);
  node_config.dataplane.routing = (*routing)->view((*device)->ifindex());  // node/ wires resolutions to it too
  node::HubNode hub(node_config, node::HubSeams{**transport, **store, **loop, **loop, device->get()});
  // Issue #12 part 2: NHRP only through an established IKE_SA, bound to its
  // identity; the watcher follows charon from the loop (vici/sa_watcher.h).
  std::unique_ptr<vici::SaWatcher> sa_watcher;
  if (strongswan) {
    vici::ClientOptions options;
    options.socket_path = config->vici_socket;
    options.name = "hub-sas";
    sa_watcher = std::make_unique<vici::SaWatcher>(**loop, options);
    hub.nhs().set_ipsec_peers(&sa_watcher->peers());
    sa_watcher->start();
  } else {
    log::warning(kLog, "[ipsec] provider \"none\": NHRP is accepted in clear GRE from anyone, and registrations "
                       "are bound to no identity. For labs only.");
  }
  if (auto started = hub.start(); !started) {
    log::error(kLog, started.error());
    return 1;
  }
  auto stop = [&](int signo) {
    log::info(kLog, std::string("signal ") + strsignal(signo) + ": shutting down");
    hub.stop();  // hand over what is open, then wait for it: answered before leaving
    (*store)->wait_idle();
    (void)(*store)->deliver_completions();
    (*loop)->stop();
  };
  auto signals = watch_daemon_signals(**loop, stop, [&] {
    auto reloaded = load_hub_config(config_path);
    if (!reloaded) {
      log_config_errors(kLog, reloaded.error(), "SIGHUP: keeping the running config: ");
      return;
    }
    if (const auto keys = needing_restart(changed_keys(config->values, reloaded->values), kHubReloadable);
        !keys.empty()) {
      log::warning(kLog, restart_warning(keys));
    }
    log_config_warnings(kLog, reloaded->warnings);
    log::set_level(reloaded->log_level);
    hub.reload(hub_node_config(*reloaded));
    log::info(kLog, "SIGHUP: configuration reloaded from " + config_path);
  });
  if (!signals) {
    log::error(kLog, "cannot watch signals: " + signals.error());
    return 1;
  }

  const HubParts parts{hub.nhs(), **store, transport->get(), hub.dataplane(), hub.upstream()};
  auto control = open_control(**loop, config->control_socket,
                              [parts](std::string_view command) { return hub_control(parts, command); });
  if (!control) {
    log::error(kLog, control.error());
    return 1;
  }
  std::unique_ptr<platform::HttpServer> metrics;
  if (config->metrics_listen) {
    auto opened = open_metrics(**loop, *config->metrics_listen, [parts] { return hub_metrics(parts); });
    if (!opened) {
      log::error(kLog, opened.error());
      return 1;
    }
    metrics = std::move(opened).value();
    log::info(kLog, "metrics on http://" + config->metrics_listen->to_string() + "/metrics");
  }

  return run_until_stopped(
      **loop, kLog,
      "NHS " + config->nhs.protocol.to_string() + " listening on " + config->nhs.nbma.to_string() +
          (config->gre_key ? " GRE key " + std::to_string(*config->gre_key) : std::string(" no GRE key")) + ", store " +
          config->database + ", control " + config->control_socket);
}

}  // namespace advpnd::app
