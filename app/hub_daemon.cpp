#include "app/hub_daemon.h"

#include <csignal>
#include <filesystem>

#include "app/control_server.h"
#include "app/hub_config.h"
#include "app/hub_control.h"
#include "app/process_tuning.h"
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

void make_parent_directory(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
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
  platform::RawGreConfig gre;
  gre.local = config->nhs.nbma;
  gre.gre_key = config->gre_key;
  auto transport = platform::RawGreTransport::open(**loop, gre);
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
  dataplane::TunConfig tun;
  tun.name = config->tun_name;
  tun.address = config->nhs.protocol;
  tun.prefix_length = config->overlay_prefix_length;
  tun.mtu = config->tunnel_mtu;
  auto device = dataplane::TunDevice::open(**loop, tun);
  if (!device) {
    log::error(kLog, device.error());
    return 1;
  }
  dataplane::HubDataplaneConfig dp;
  dp.local_prefixes.push_back(shortcut::Prefix::host(config->nhs.protocol));
  dataplane::HubDataplane dataplane(dp, **device, **transport, nhs, **loop);
  auto stop = [&](int signo) {
    log::info(kLog, std::string("signal ") + strsignal(signo) + ": shutting down");
    nhs.on_batch_end();  // commit and answer what is open before leaving
    (*loop)->stop();
  };
  auto on_term = (*loop)->watch_signal(SIGTERM, stop);
  auto on_int = (*loop)->watch_signal(SIGINT, stop);
  auto on_hup = (*loop)->watch_signal(SIGHUP, [&](int) {
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
  if (!on_term || !on_int || !on_hup) {
    log::error(kLog, "cannot watch signals");
    return 1;
  }

  make_parent_directory(config->control_socket);
  auto control = ControlServer::open(
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
  if (auto ran = (*loop)->run(); !ran) {
    log::error(kLog, ran.error());
    return 1;
  }
  log::info(kLog, "stopped");
  return 0;
}

}  // namespace advpnd::app
