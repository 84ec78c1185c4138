#include "app/daemon_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/hub_config.h"
#include "app/hub_daemon.h"
#include "app/spoke_config.h"
#include "app/spoke_daemon.h"

namespace advpnd::app {
namespace {

// Prints every error (stderr) or "FILE: ok (...)" (stdout), and the
// warnings (stderr) of a good file; the exit status of `advpnd check`.
template <class Config>
int report(const std::string& path, const Result<Config, ConfigErrors>& config, const std::string& summary) {
  if (!config) {
    std::cerr << config.error().to_string();
    return 1;
  }
  for (const ConfigError& warning : config->warnings) std::cerr << warning.to_string() << "\n";
  std::cout << path << ": ok (" << summary << ")\n";
  return 0;
}

int check_config(const std::string& path) {
  auto role = config_role(path);
  if (!role) {
    std::cerr << role.error().to_string();
    return 1;
  }
  if (*role == ConfigRole::Hub) {
    auto config = load_hub_config(path);
    return report(path, config,
                  config ? "hub " + config->nhs.protocol.to_string() + " on " + config->nhs.nbma.to_string() : "");
  }
  auto config = load_spoke_config(path);
  return report(path, config,
                config
                    ? "spoke " + config->agent.nhc.protocol.to_string() + " on " + config->agent.nhc.nbma.to_string() +
                          ", " + std::to_string(config->agent.nhc.servers.size()) + " NHS"
                    : "");
}

}  // namespace

void add_daemon_commands(CLI::App& app, int& exit_status) {
  auto config_path = std::make_shared<std::string>();
  auto privileges = std::make_shared<PrivilegeRequest>();
  // app/privileges.h: the user the daemon switches to once its socket and
  // device are open; every capability is cleared in any case.
  const auto add_user_option = [&privileges](CLI::App* command) {
    command->add_option_function<std::string>(
        "-u,--user", [privileges](const std::string& user) { privileges->user = user; },
        "Run as USER once the GRE socket and the TUN device are open (default: advpnd when started as root and "
        "that user exists; 'root' stays root). Capabilities are dropped in any case.");
  };

  CLI::App* hub = app.add_subcommand(
      "hub",
      "Run as a hub (NHRP Next Hop Server): answers registrations (kept in SQLite, served at once after a "
      "restart) and resolutions, and redirects spoke-to-spoke traffic that hair-pins through it. Starts as root "
      "or with CAP_NET_RAW and CAP_NET_ADMIN (raw GRE socket, TUN device), then drops them. SIGTERM stops it cleanly; "
      "SIGHUP reloads the config (limits, timers, authentication, redirect, log level; changed keys that need a "
      "restart are named in a warning). Example config: deploy/hub.toml.");
  hub->add_option("-c,--config", *config_path, "TOML config file")->required();
  add_user_option(hub);
  hub->callback([config_path, privileges, status = &exit_status] { *status = run_hub(*config_path, *privileges); });

  CLI::App* spoke = app.add_subcommand(
      "spoke",
      "Run as a spoke (NHRP Next Hop Client): registers with its hubs, and on a redirect resolves the other "
      "spoke and brings up a direct IPsec tunnel through strongSwan, moving the traffic onto it once it is up "
      "and back to the hub after the idle timeout. Starts as root or with CAP_NET_RAW and CAP_NET_ADMIN (raw GRE "
      "socket, TUN device), then drops them. SIGTERM: shortcuts back to the hub, registrations purged. SIGHUP: new "
      "NHSs, the authentication password, shortcut timers and the log level apply at once; other changed keys are "
      "named in a warning (they need a restart). Example config: deploy/spoke.toml.");
  spoke->add_option("-c,--config", *config_path, "TOML config file")->required();
  add_user_option(spoke);
  spoke->callback([config_path, privileges, status = &exit_status] { *status = run_spoke(*config_path, *privileges); });

  CLI::App* check = app.add_subcommand(
      "check",
      "Validate a config file and exit: 0 when it is good, 1 otherwise with every error, one "
      "'FILE:LINE: KEY: problem' line each. Warnings ('FILE:LINE: KEY: warning: ...') do not fail the check.");
  check->add_option("-c,--config", *config_path, "TOML config file")->required();
  check->callback([config_path, status = &exit_status] { *status = check_config(*config_path); });
}

}  // namespace advpnd::app
