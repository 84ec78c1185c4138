// advpnctl: asks a running advpnd over its control socket (root only).
//
//   advpnctl show registrations [--json]     (hub)
//   advpnctl show nhs [--json]               (spoke)
//   advpnctl show shortcuts [--json]         (spoke)
//   advpnctl show stats [--json]             (both)
//   advpnctl clear registration ADDR         (hub)
//
// -s SOCKET picks the daemon: the hub's default is /run/advpnd/hub.sock,
// a spoke's /run/advpnd/spoke.sock (the `control_socket` of its config).
//
// Exit status: 0 done; 1 an unknown command or one the daemon refused (the
// reason on stderr); 2 the daemon could not be reached.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/control_server.h"

int main(int argc, char** argv) {
  CLI::App app{
      "advpnctl: inspect and steer a running advpnd through its control socket. Output is a table for "
      "people; --json gives the same facts for programs.",
      "advpnctl"};
  std::string socket = "/run/advpnd/hub.sock";
  bool json = false;
  int timeout_ms = 5000;
  app.add_option("-s,--socket", socket, "control socket of the daemon")->capture_default_str();
  app.add_flag("--json", json, "machine-readable output");
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for the daemon")->capture_default_str();
  app.require_subcommand(1);
  // Options such as --json are accepted after the subcommand too, as the
  // usage above shows them (`show registrations --json`).
  app.fallthrough();

  std::string command;
  CLI::App* show = app.add_subcommand("show", "show registrations | nhs | shortcuts | tunnels | stats");
  show->require_subcommand(1);
  show->add_subcommand("registrations", "every registration the hub holds (committed to its store)")
      ->callback([&] { command = "show registrations"; });
  show->add_subcommand("nhs", "spoke: each NHS with its state, last reply, next refresh, failures")
      ->callback([&] { command = "show nhs"; });
  show->add_subcommand("shortcuts", "spoke: each shortcut with state, peer NBMA, prefix, age, idle time, bytes")
      ->callback([&] { command = "show shortcuts"; });
  show->add_subcommand("tunnels", "spoke: each IPsec tunnel with who holds it (NHS, shortcuts, replies), given-up peers")
      ->callback([&] { command = "show tunnels"; });
  show->add_subcommand("stats", "packets received and sent by type, errors by reason (hub: store health)")
      ->callback([&] { command = "show stats"; });
  CLI::App* clear = app.add_subcommand("clear", "clear registration ADDR");
  clear->require_subcommand(1);
  std::string address;
  CLI::App* clear_registration =
      clear->add_subcommand("registration", "remove every registration of a protocol address (and purge it)");
  clear_registration->add_option("ADDR", address, "protocol (overlay) address")->required();
  clear_registration->callback([&] { command = "clear registration " + address; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; a command advpnctl does not know is exit 1,
    // like a command the daemon refuses (2 stays "daemon unreachable").
    return app.exit(error) == 0 ? 0 : 1;
  }
  if (json) command += " --json";
  auto reply = advpnd::app::control_request(socket, command, std::chrono::milliseconds(timeout_ms));
  if (!reply) {
    std::cerr << "advpnctl: " << reply.error() << "\n";
    return 2;
  }
  (reply->ok ? std::cout : std::cerr) << reply->body;
  return reply->ok ? 0 : 1;
}
