// The start-up steps both daemons share: the NBMA side (raw GRE socket),
// the overlay device, the signals a daemon answers, the control socket, and
// running the loop. Each step fails with a message the daemon logs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/control_server.h"
#include "app/hub_config.h"
#include "app/privileges.h"
#include "base/ip_address.h"
#include "base/result.h"
#include "dataplane/tun_device.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"

namespace advpnd::app {

// Every error of a bad config, one log line each ("bad config: FILE:LINE: KEY: problem"),
// prefixed by `context` (e.g. "SIGHUP: keeping the running config: ").
void log_config_errors(std::string_view component, const ConfigErrors& errors, const std::string& context = "");
// A good config's warnings, one log line each.
void log_config_warnings(std::string_view component, const std::vector<ConfigError>& warnings);

// Creates the folder a file (database, control socket) lives in.
void make_parent_directory(const std::string& path);

[[nodiscard]] Result<std::unique_ptr<platform::RawGreTransport>, std::string> open_nbma(
    platform::EventLoop& loop, const IpAddress& local, std::optional<std::uint32_t> gre_key,
    const std::string& ipsec_interface = {});

[[nodiscard]] Result<std::unique_ptr<dataplane::TunDevice>, std::string> open_overlay(
    platform::EventLoop& loop, const std::string& name, const IpAddress& address, std::uint8_t prefix_length,
    std::uint16_t mtu);

// SIGTERM and SIGINT call `stop`, SIGHUP calls `reload`; the watches live
// as long as the returned object.
struct DaemonSignals {
  std::unique_ptr<platform::SignalWatch> term;
  std::unique_ptr<platform::SignalWatch> interrupt;
  std::unique_ptr<platform::SignalWatch> hangup;
};
[[nodiscard]] Result<DaemonSignals, std::string> watch_daemon_signals(platform::EventLoop& loop,
                                                                      const std::function<void(int)>& stop,
                                                                      std::function<void()> reload);

// The control socket, its folder created first.
[[nodiscard]] Result<std::unique_ptr<ControlServer>, std::string> open_control(platform::EventLoop& loop,
                                                                              const std::string& path,
                                                                              ControlServer::Handler handler);

// Start-up is done with what needs privileges (the NBMA socket and the
// overlay device are open): drops them (app/privileges.h) and logs who the
// daemon runs as; false (logged) when that failed and the daemon must stop.
// `folders`: the database and control socket paths (their folders must be
// writable by the unprivileged user).
[[nodiscard]] bool drop_privileges_after_start(const PrivilegeRequest& request, const std::vector<std::string>& folders,
                                               std::string_view component);

// Logs `started`, tells systemd the daemon is ready (READY=1, STATUS=started)
// and feeds its watchdog (app/service_notify.h), then runs the loop until a
// signal stops it; the process exit status.
[[nodiscard]] int run_until_stopped(platform::EventLoop& loop, std::string_view component, const std::string& started);

}  // namespace advpnd::app
