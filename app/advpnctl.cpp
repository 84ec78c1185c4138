// advpnctl: asks a running advpnd over its control socket (root only).
//
//   advpnctl show registrations [ADDR] [--json]  (hub)
//   advpnctl show audit [ADDR] [--json]          (hub)
//   advpnctl show nhs [--json]                   (spoke)
//   advpnctl show shortcuts [--json]             (spoke)
//   advpnctl show stats [--json]                 (both)
//   advpnctl show upstream [--json]              (hub)
//   advpnctl clear registration ADDR             (hub)
//   advpnctl clear shortcut [PEER]               (spoke)
//   advpnctl debug [CATEGORY|all on|off]         (both)
//
// The daemon: -s SOCKET, else $ADVPNCTL_SOCKET, else whichever of
// /run/advpnd/hub.sock and /run/advpnd/spoke.sock exists
// (app/control_socket_choice.h).
//
// Exit status: 0 done; 1 an unknown command or one the daemon refused (the
// reason on stderr); 2 the daemon could not be reached. With --json every
// error is {"error": "..."} on stdout, with the same exit status.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "app/control_server.h"
#include "app/control_socket_choice.h"
#include "app/hub_config.h"
#include "app/json.h"

namespace {

// Prints an error the way the caller asked for, returns `status`.
int report_error(bool json, std::string message, int status) {
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (json) {
    advpnd::app::JsonWriter w;
    w.begin_object().field("error", message).end_object();
    std::cout << w.take() << "\n";
  } else {
    std::cerr << "advpnctl: " << message << "\n";
  }
  return status;
}

bool asked_for_json(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// The commands and their help; each sets `command` to the line sent to the daemon.
void add_commands(CLI::App& app, std::string& command) {
  // The positional arguments live as long as the app: in static storage.
  static std::string address;
  static std::string peer;
  static std::string category;
  static std::string state;

  CLI::App* show = app.add_subcommand("show", "show registrations | audit | nhs | shortcuts | tunnels | stats | upstream");
  show->require_subcommand(1);
  CLI::App* registrations = show->add_subcommand("registrations",
                                                 "hub: every registration it holds (committed to its store), or "
                                                 "those of one protocol address");
  registrations->add_option("ADDR", address, "protocol (overlay) address");
  registrations->callback([&] { command = "show registrations" + (address.empty() ? "" : " " + address); });
  CLI::App* audit = show->add_subcommand(
      "audit",
      "hub: the audit trail, newest first (registered, refreshed, replaced, refused, expired, purged), "
      "or that of one protocol or NBMA address");
  audit->add_option("ADDR", address, "protocol or NBMA address");
  audit->callback([&] { command = "show audit" + (address.empty() ? "" : " " + address); });
  show->add_subcommand("nhs", "spoke: each NHS with its state, last reply, next refresh, failures")->callback([&] {
    command = "show nhs";
  });
  show->add_subcommand("shortcuts", "spoke: each shortcut with state, peer NBMA, prefix, age, idle time, bytes")
      ->callback([&] { command = "show shortcuts"; });
  show->add_subcommand("tunnels",
                       "spoke: each IPsec tunnel with who holds it (NHS, shortcuts, replies), given-up peers")
      ->callback([&] { command = "show tunnels"; });
  show->add_subcommand("stats",
                       "packets received and sent by type, errors by reason, dataplane packets and "
                       "drops, link-local multicast replication (hub: store health)")
      ->callback([&] { command = "show stats"; });
  show->add_subcommand("upstream",
                       "hub: its registrations at the NHSs of the tier above ([[upstream]], a hierarchy): state, "
                       "last reply, next refresh, failures")
      ->callback([&] { command = "show upstream"; });

  CLI::App* clear = app.add_subcommand("clear", "clear registration ADDR | shortcut [PEER]");
  clear->require_subcommand(1);
  CLI::App* clear_registration =
      clear->add_subcommand("registration", "hub: remove every registration of a protocol address (and purge it)");
  clear_registration->add_option("ADDR", address, "protocol (overlay) address")->required();
  clear_registration->callback([&] { command = "clear registration " + address; });
  CLI::App* clear_shortcut = clear->add_subcommand(
      "shortcut",
      "spoke: close every shortcut, or those to PEER (its overlay address, or one its prefix covers): "
      "traffic goes back through the hub first, then the tunnel is torn down");
  clear_shortcut->add_option("PEER", peer, "overlay address");
  clear_shortcut->callback([&] { command = "clear shortcut" + (peer.empty() ? "" : " " + peer); });

  CLI::App* debug =
      app.add_subcommand("debug",
                         "debug logging per category, at run time: 'debug nhs on', 'debug nhs off', 'debug all off'; "
                         "without arguments: the categories and which are on");
  debug->add_option("CATEGORY", category, "a category (advpnctl debug lists them), or all");
  debug->add_option("STATE", state, "on or off")->check(CLI::IsMember({"on", "off"}));
  debug->callback([&] {
    if (!category.empty() && state.empty()) throw CLI::ValidationError("STATE", "say on or off");
    command = "debug" + (category.empty() ? "" : " " + category + " " + state);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "advpnctl: inspect and steer a running advpnd through its control socket. Output is a table for "
      "people; --json gives the same facts for programs (errors too: {\"error\": \"...\"}).",
      "advpnctl"};
  std::string socket;
  bool json = false;
  int timeout_ms = 5000;
  app.add_option("-s,--socket", socket,
                 "control socket of the daemon; default: $ADVPNCTL_SOCKET, else whichever of " +
                     std::string(advpnd::app::kDefaultHubSocket) + " and " + advpnd::app::kDefaultSpokeSocket +
                     " exists");
  app.add_flag("--json", json, "machine-readable output");
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for the daemon")->capture_default_str();
  app.require_subcommand(1);
  // Options such as --json are accepted after the subcommand too, as the
  // usage above shows them (`show registrations --json`).
  app.fallthrough();

  std::string command;
  add_commands(app, command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; a command advpnctl does not know is exit 1,
    // like a command the daemon refuses (2 stays "daemon unreachable").
    if (error.get_exit_code() == 0 || !asked_for_json(argc, argv)) return app.exit(error) == 0 ? 0 : 1;
    return report_error(true, error.what(), 1);
  }
  auto path = advpnd::app::choose_control_socket(socket, std::getenv(advpnd::app::kSocketVariable),
                                                 {advpnd::app::kDefaultHubSocket, advpnd::app::kDefaultSpokeSocket});
  if (!path) return report_error(json, path.error(), 2);
  if (json) command += " --json";
  auto reply = advpnd::app::control_request(*path, command, std::chrono::milliseconds(timeout_ms));
  if (!reply) return report_error(json, reply.error(), 2);
  if (!reply->ok && !json) {
    std::cerr << reply->body;  // the daemon's own words
    return 1;
  }
  if (!reply->ok) return report_error(json, reply->body, 1);
  std::cout << reply->body;
  return 0;
}
