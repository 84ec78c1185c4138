#include "app/cli.h"

#include <CLI/CLI.hpp>

#include "app/daemon_commands.h"
#include "app/decode_command.h"

namespace advpnd::app {

namespace {

constexpr const char* kDescription =
    "advpnd: a DMVPN phase 3 / ADVPN daemon for Linux. It speaks NHRP (RFC 2332) as Cisco IOS "
    "DMVPN and FRR nhrpd do: a hub answers registrations and resolutions and redirects "
    "hair-pinned traffic; spokes register, resolve and build direct tunnels on demand.";

}  // namespace

int run_cli(int argc, const char* const* argv) {
  CLI::App app{kDescription, "advpnd"};
  app.set_version_flag("--version", std::string(ADVPND_VERSION));
  app.require_subcommand(1);
  app.footer("Run 'advpnd COMMAND --help' for a command's options.");

  int exit_status = 0;
  add_decode_command(app, exit_status);
  add_daemon_commands(app, exit_status);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);  // --help and --version land here too, with status 0
  }
  return exit_status;
}

}  // namespace advpnd::app
