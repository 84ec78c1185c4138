#include "app/daemon_parts.h"

#include <csignal>
#include <filesystem>

#include "app/service_notify.h"
#include "base/log.h"

namespace advpnd::app {

void log_config_errors(std::string_view component, const ConfigErrors& errors, const std::string& context) {
  for (const ConfigError& error : errors.errors) log::error(component, context + "bad config: " + error.to_string());
}

void log_config_warnings(std::string_view component, const std::vector<ConfigError>& warnings) {
  for (const ConfigError& warning : warnings) log::warning(component, warning.to_string());
}

void make_parent_directory(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ignored;  // open() reports the problem with the path itself
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
}

Result<std::unique_ptr<platform::RawGreTransport>, std::string> open_nbma(platform::EventLoop& loop,
                                                                         const IpAddress& local,
                                                                         std::optional<std::uint32_t> gre_key,
                                                                         const std::string& ipsec_interface) {
  platform::RawGreConfig gre;
  gre.local = local;
  gre.gre_key = gre_key;
  gre.ipsec_interface = ipsec_interface;
  return platform::RawGreTransport::open(loop, gre);
}

Result<std::unique_ptr<dataplane::TunDevice>, std::string> open_overlay(platform::EventLoop& loop,
                                                                       const std::string& name,
                                                                       const IpAddress& address,
                                                                       std::uint8_t prefix_length,
                                                                       std::uint16_t mtu) {
  dataplane::TunConfig tun;
  tun.name = name;
  tun.address = address;
  tun.prefix_length = prefix_length;
  tun.mtu = mtu;
  return dataplane::TunDevice::open(loop, tun);
}

Result<DaemonSignals, std::string> watch_daemon_signals(platform::EventLoop& loop,
                                                        const std::function<void(int)>& stop,
                                                        std::function<void()> reload) {
  auto term = loop.watch_signal(SIGTERM, stop);
  auto interrupt = loop.watch_signal(SIGINT, stop);
  auto hangup = loop.watch_signal(SIGHUP, [reload = std::move(reload)](int) { reload(); });
  if (!term) return fail(term.error());
  if (!interrupt) return fail(interrupt.error());
  if (!hangup) return fail(hangup.error());
  return DaemonSignals{std::move(term).value(), std::move(interrupt).value(), std::move(hangup).value()};
}

Result<std::unique_ptr<ControlServer>, std::string> open_control(platform::EventLoop& loop, const std::string& path,
                                                                ControlServer::Handler handler) {
  make_parent_directory(path);
  return ControlServer::open(loop, path, std::move(handler));
}

bool drop_privileges_after_start(const PrivilegeRequest& request, const std::vector<std::string>& folders,
                                 std::string_view component) {
  auto dropped = drop_privileges(request, folders);
  if (!dropped) {
    log::error(component, "cannot drop privileges: " + dropped.error());
    return false;
  }
  log::info(component, "running as " + dropped->user + " (uid " + std::to_string(dropped->uid) + ", gid " +
                           std::to_string(dropped->gid) + ") without capabilities");
  return true;
}

int run_until_stopped(platform::EventLoop& loop, std::string_view component, const std::string& started) {
  log::info(component, started);
  ServiceNotifier service(loop);
  service.ready(started);
  if (auto ran = loop.run(); !ran) {
    log::error(component, ran.error());
    return 1;
  }
  log::info(component, "stopped");
  return 0;
}

}  // namespace advpnd::app
