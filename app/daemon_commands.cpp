#include "app/daemon_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/hub_config.h"
#include "app/hub_daemon.h"
#include "app/spoke_config.h"
#include "app/spoke_daemon.h"

namespace advpnd::app {

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
      "SIGHUP reloads the config. Example config: deploy/hub.toml.");
  hub->add_option("-c,--config", *config_path, "TOML config file")->required();
  add_user_option(hub);
  hub->callback([config_path, privileges, status = &exit_status] { *status = run_hub(*config_path, *privileges); });

  CLI::App* spoke = app.add_subcommand(
      "spoke",
      "Run as a spoke (NHRP Next Hop Client): registers with its hubs, and on a redirect resolves the other "
      "spoke and brings up a direct IPsec tunnel through strongSwan, moving the traffic onto it once it is up "
      "and back to the hub after the idle timeout. Starts as root or with CAP_NET_RAW and CAP_NET_ADMIN (raw GRE "
      "socket, TUN device), then drops them. SIGTERM: shortcuts "
      "back to the hub, registrations purged. Example config: deploy/spoke.toml.");
  spoke->add_option("-c,--config", *config_path, "TOML config file")->required();
  add_user_option(spoke);
  spoke->callback([config_path, privileges, status = &exit_status] { *status = run_spoke(*config_path, *privileges); });

  CLI::App* check = app.add_subcommand(
      "check", "Validate a config file and exit: 0 when it is good, 1 with 'FILE:LINE: KEY: problem' otherwise.");
  check->add_option("-c,--config", *config_path, "TOML config file")->required();
  check->callback([config_path, status = &exit_status] {
    *status = 1;
    auto role = config_role(*config_path);
    if (!role) {
      std::cerr << role.error().to_string() << "\n";
      return;
    }
    if (*role == ConfigRole::Hub) {
      auto config = load_hub_config(*config_path);
      if (!config) {
        std::cerr << config.error().to_string() << "\n";
        return;
      }
      std::cout << *config_path << ": ok (hub " << config->nhs.protocol.to_string() << " on "
                << config->nhs.nbma.to_string() << ")\n";
    } else {
      auto config = load_spoke_config(*config_path);
      if (!config) {
        std::cerr << config.error().to_string() << "\n";
        return;
      }
      std::cout << *config_path << ": ok (spoke " << config->agent.nhc.protocol.to_string() << " on "
                << config->agent.nhc.nbma.to_string() << ", " << config->agent.nhc.servers.size() << " NHS)\n";
    }
    *status = 0;
  });
}

}  // namespace advpnd::app
