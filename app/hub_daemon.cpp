#include "app/hub_daemon.h"

#include <csignal>

#include "app/control_server.h"
#include "app/daemon_parts.h"
#include "app/hub_config.h"
#include "app/hub_control.h"
#include "app/process_tuning.h"
#include "base/log.h"
#include "dataplane/tun_device.h"
#include "db/sqlite_registration_store.h"
#include "node/hub_node.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "hub";

node::HubNodeConfig hub_node_config(const HubDaemonConfig& config) {
  node::HubNodeConfig out;
  out.nhs = config.nhs;
  return out;
}
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
  // Commits run on the store's thread; their results come back here, to the
  // loop, which then applies them and sends the replies (db/registration_store.h).
  auto commits_done =
      (*loop)->watch_readable((*store)->completion_fd(), [&store] { (void)(*store)->deliver_completions(); });
  if (!commits_done) {
    log::error(kLog, "cannot watch the store: " + commits_done.error());
    return 1;
  }
  // The overlay: the hub's own device, and spoke-to-spoke forwarding that
  // tells the redirect policy of every hair-pin.
  auto device = open_overlay(**loop, config->tun_name, config->nhs.protocol, config->nhs.overlay_prefix_length,
                             config->tunnel_mtu);
  if (!device) {
    log::error(kLog, device.error());
    return 1;
  }
  node::HubNode hub(hub_node_config(*config), node::HubSeams{**transport, **store, **loop, **loop, device->get()});
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
      log::error(kLog, "SIGHUP: keeping the running config: " + reloaded.error().to_string());
      return;
    }
    if (reloaded->nhs.nbma != config->nhs.nbma || reloaded->nhs.protocol != config->nhs.protocol ||
        reloaded->nhs.overlay_prefix_length != config->nhs.overlay_prefix_length ||
        reloaded->gre_key != config->gre_key || reloaded->database != config->database ||
        reloaded->control_socket != config->control_socket) {
      log::warning(
          kLog, "SIGHUP: addresses, the overlay subnet, GRE key, database and control socket change only on restart");
    }
    log::set_level(reloaded->log_level);
    hub.reload(hub_node_config(*reloaded));
    log::info(kLog, "SIGHUP: configuration reloaded from " + config_path);
  });
  if (!signals) {
    log::error(kLog, "cannot watch signals: " + signals.error());
    return 1;
  }

  auto control =
      open_control(**loop, config->control_socket, [&hub, counters = transport->get()](std::string_view command) {
        return hub_control(hub.nhs(), command, counters, hub.dataplane());
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
