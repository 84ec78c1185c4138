// advpnctl against the real hub daemon (app/advpnctl.cpp, app/hub_control.h,
// app/debug_control.h): one address's registrations and audit trail, errors
// as JSON under --json, the socket found through $ADVPNCTL_SOCKET or the
// default paths (in a private mount namespace with its own /run), and debug
// logging switched per category at run time.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using nhrp::CieCode;
using nhrp::PacketType;

SimSpoke spoke(std::uint8_t n) {
  return SimSpoke{IpAddress::v4(127, 0, 6, n), IpAddress::v4(127, 0, 6, n), IpAddress::v4(10, 0, 6, n)};
}

void resolve_unknown(SpokeWire& wire, const IpAddress& target, std::uint32_t id) {
  auto reply = exchange(wire, spoke(1), resolution_request(spoke(1), target, id), PacketType::ResolutionReply);
  REQUIRE(reply.has_value());
  REQUIRE(reply->cies.size() == 1);
  CHECK(reply->cies[0].code == CieCode::NoBindingExists);
}

// advpnctl ARGS with $ADVPNCTL_SOCKET set (empty `socket`: unset).
CommandResult ctl_with_env(const std::string& socket, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"env", "-u", "ADVPNCTL_SOCKET"};
  if (!socket.empty()) argv.push_back("ADVPNCTL_SOCKET=" + socket);
  argv.emplace_back(ADVPNCTL_BIN);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

// advpnctl show stats in a private mount namespace whose /run/advpnd holds
// links named `names` to the hub's socket (nothing of the host's /run is touched).
CommandResult ctl_with_run_dir(const HubProcess& hub, const std::vector<std::string>& names) {
  std::string script = "mount -t tmpfs advpnd-test /run && mkdir /run/advpnd";
  for (const std::string& name : names) script += " && ln -s '" + hub.socket_path() + "' /run/advpnd/" + name;
  script += " && exec env -u ADVPNCTL_SOCKET '" + std::string(ADVPNCTL_BIN) + "' show stats";
  return run_command({"unshare", "--mount", "--propagation", "private", "sh", "-c", script});
}

}  // namespace

TEST_CASE("advpnctl: show registrations ADDR and show audit [ADDR] answer for one address") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  REQUIRE(register_spoke(wire, spoke(2), 2) == CieCode::Success);
  REQUIRE(hub.ctl({"clear", "registration", spoke(1).protocol.to_string()}).exit_code == 0);
  REQUIRE(register_spoke(wire, spoke(2), 3) == CieCode::Success);  // a refresh that changes nothing: no audit row

  const CommandResult one = hub.ctl({"show", "registrations", spoke(2).protocol.to_string(), "--json"});
  REQUIRE_MESSAGE(one.exit_code == 0, one.err);
  const JsonValue json = parse_json(one.out);
  CHECK(json["count"].as_int() == 1);
  CHECK(json["registrations"][0]["protocol"].as_string() == spoke(2).protocol.to_string());
  const CommandResult none = hub.ctl({"show", "registrations", spoke(1).protocol.to_string()});
  CHECK(none.exit_code == 0);
  CHECK(none.out.find("0 registrations") != std::string::npos);

  const CommandResult all = hub.ctl({"show", "audit", "--json"});
  REQUIRE_MESSAGE(all.exit_code == 0, all.err);
  const JsonValue events = parse_json(all.out)["audit"];
  REQUIRE(events.size() == 3);  // newest first
  CHECK(events[0]["kind"].as_string() == "purged");
  CHECK(events[0]["reason"].as_string() == "cleared by operator");
  CHECK(events[1]["kind"].as_string() == "registered");
  CHECK(events[2]["kind"].as_string() == "registered");
  const JsonValue stats = parse_json(hub.ctl({"show", "stats", "--json"}).out);
  CHECK(stats["refreshes_unchanged"].as_int() == 1);

  const CommandResult mine = hub.ctl({"show", "audit", spoke(1).protocol.to_string(), "--json"});
  REQUIRE(mine.exit_code == 0);
  const JsonValue spoke1 = parse_json(mine.out)["audit"];
  REQUIRE(spoke1.size() == 2);
  CHECK(spoke1[0]["kind"].as_string() == "purged");
  CHECK(spoke1[1]["kind"].as_string() == "registered");
  for (const JsonValue& e : spoke1.items()) CHECK(e["protocol"].as_string() == spoke(1).protocol.to_string());
  // By NBMA address too, and as a table for people.
  const CommandResult by_nbma = hub.ctl({"show", "audit", spoke(2).nbma.to_string()});
  CHECK(by_nbma.exit_code == 0);
  CHECK(by_nbma.out.find("registered") != std::string::npos);
  CHECK(by_nbma.out.find("purged") == std::string::npos);
  CHECK(by_nbma.out.find("1 event(s), newest first") != std::string::npos);

  const CommandResult bad = hub.ctl({"show", "audit", "10.0.6"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("\"10.0.6\" is not an IP address") != std::string::npos);
}

TEST_CASE("advpnctl --json: every error is a JSON object, with the exit status of the error") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  // Refused by the daemon: 1.
  const CommandResult refused = hub.ctl({"--json", "clear", "registration", "not-an-address"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.empty());
  CHECK(parse_json(refused.out)["error"].as_string() == "\"not-an-address\" is not an IP address");
  // Unknown to advpnctl itself: 1.
  const CommandResult unknown = hub.ctl({"show", "bogus", "--json"});
  CHECK(unknown.exit_code == 1);
  CHECK(parse_json(unknown.out).has("error"));
  // Unreachable: 2.
  const CommandResult absent = run_command({ADVPNCTL_BIN, "-s", hub.file("absent.sock"), "--json", "show", "stats"});
  CHECK(absent.exit_code == 2);
  CHECK(absent.err.empty());
  CHECK(parse_json(absent.out)["error"].as_string().find("absent.sock") != std::string::npos);
  // And the daemon still answers.
  CHECK(hub.ctl({"show", "stats", "--json"}).exit_code == 0);
}

TEST_CASE("advpnctl finds the socket: -s, else $ADVPNCTL_SOCKET, else the one default path that exists") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  const CommandResult by_env = ctl_with_env(hub.socket_path(), {"show", "stats"});
  CHECK_MESSAGE(by_env.exit_code == 0, by_env.err);
  CHECK(by_env.out.find("registrations 0") != std::string::npos);
  // -s wins over the variable.
  const CommandResult flag_wins = ctl_with_env(hub.file("absent.sock"), {"-s", hub.socket_path(), "show", "stats"});
  CHECK_MESSAGE(flag_wins.exit_code == 0, flag_wins.err);

  const CommandResult only_hub = ctl_with_run_dir(hub, {"hub.sock"});
  CHECK_MESSAGE(only_hub.exit_code == 0, only_hub.err);
  CHECK(only_hub.out.find("registrations 0") != std::string::npos);
  const CommandResult only_spoke = ctl_with_run_dir(hub, {"spoke.sock"});
  CHECK_MESSAGE(only_spoke.exit_code == 0, only_spoke.err);

  const CommandResult both = ctl_with_run_dir(hub, {"hub.sock", "spoke.sock"});
  CHECK(both.exit_code == 2);
  CHECK(both.err ==
        "advpnctl: several daemons run here (/run/advpnd/hub.sock and /run/advpnd/spoke.sock): choose one with "
        "-s SOCKET or ADVPNCTL_SOCKET\n");
  const CommandResult none = ctl_with_run_dir(hub, {});
  CHECK(none.exit_code == 2);
  CHECK(none.err ==
        "advpnctl: no advpnd control socket at /run/advpnd/hub.sock or /run/advpnd/spoke.sock: is the daemon "
        "running? (-s SOCKET or ADVPNCTL_SOCKET for another path)\n");
}

TEST_CASE("advpnctl debug: one category at debug at run time, and back") {
  enter_test_netns();
  HubProcess hub;  // log level info: no per-packet lines
  hub.start();
  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  const auto debug_line = [](std::uint8_t n) { return "no binding for 10.0.6." + std::to_string(n); };

  resolve_unknown(wire, IpAddress::v4(10, 0, 6, 91), 10);
  const CommandResult on = hub.ctl({"debug", "nhs", "on", "--json"});
  REQUIRE_MESSAGE(on.exit_code == 0, on.err);
  const JsonValue state = parse_json(on.out);
  CHECK(state["log_level"].as_string() == "info");
  CHECK(state["categories"]["nhs"].as_bool());
  CHECK_FALSE(state["categories"]["control"].as_bool());
  resolve_unknown(wire, IpAddress::v4(10, 0, 6, 92), 11);
  CHECK_MESSAGE(hub.wait_for_log(debug_line(92), kReplyTimeout), hub.log());

  REQUIRE(hub.ctl({"debug", "nhs", "off"}).exit_code == 0);
  resolve_unknown(wire, IpAddress::v4(10, 0, 6, 93), 12);
  REQUIRE(hub.ctl({"debug", "all", "on"}).exit_code == 0);
  resolve_unknown(wire, IpAddress::v4(10, 0, 6, 94), 13);
  CHECK_MESSAGE(hub.wait_for_log(debug_line(94), kReplyTimeout), hub.log());
  const CommandResult off = hub.ctl({"debug", "all", "off"});
  REQUIRE(off.exit_code == 0);
  CHECK(off.out.find("debug on:\n") != std::string::npos);  // none left
  resolve_unknown(wire, IpAddress::v4(10, 0, 6, 95), 14);
  REQUIRE(hub.ctl({"show", "stats"}).exit_code == 0);  // a round trip: the resolution was handled before

  const std::string log = hub.log();
  CHECK(log.find(debug_line(91)) == std::string::npos);
  CHECK(log.find(debug_line(93)) == std::string::npos);
  CHECK(log.find(debug_line(95)) == std::string::npos);

  const CommandResult bogus = hub.ctl({"debug", "bogus", "on"});
  CHECK(bogus.exit_code == 1);
  CHECK(bogus.err.find("unknown debug category \"bogus\"") != std::string::npos);
  CHECK(hub.ctl({"debug", "nhs", "maybe"}).exit_code == 1);
  CHECK(hub.ctl({"debug", "nhs"}).exit_code == 1);
}

}  // namespace advpnd::test
