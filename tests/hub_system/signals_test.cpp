// Signals of the running daemon (app/hub_daemon.h): SIGTERM is a clean
// shutdown (exit 0, control socket removed); SIGHUP reloads the config and
// keeps every registration; a broken config on SIGHUP is logged with
// FILE:LINE: KEY and the running config is kept.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>

#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using nhrp::CieCode;
using nhrp::PacketType;

SimSpoke spoke(std::uint8_t n) {
  return SimSpoke{IpAddress::v4(127, 0, 3, n), IpAddress::v4(127, 0, 3, n), IpAddress::v4(10, 0, 3, n)};
}
const IpAddress kUnknownTarget = IpAddress::v4(10, 0, 3, 99);

// The 1-based line of `text` that starts with `prefix`.
std::size_t line_of(const std::string& text, const std::string& prefix) {
  const auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(prefix, 0) == 0) return i + 1;
  }
  FAIL("no line starts with \"" << prefix << "\"");
  return 0;
}

std::string replace_line(std::string text, const std::string& prefix, const std::string& replacement) {
  const std::size_t at = text.find("\n" + prefix);
  REQUIRE(at != std::string::npos);
  const std::size_t end = text.find('\n', at + 1);
  return text.replace(at + 1, end - at - 1, replacement);
}

void register_three(SpokeWire& wire) {
  for (std::uint8_t n = 1; n <= 3; ++n) REQUIRE(register_spoke(wire, spoke(n), n) == CieCode::Success);
}

void check_three_registered(const HubProcess& hub) {
  const JsonValue json = hub.registrations();
  CHECK(json["count"].as_int() == 3);
  for (std::uint8_t n = 1; n <= 3; ++n) CHECK(find_registration(json, spoke(n).protocol) != nullptr);
}

void resolve_unknown(SpokeWire& wire, std::uint32_t id) {
  auto reply = exchange(wire, spoke(1), resolution_request(spoke(1), kUnknownTarget, id), PacketType::ResolutionReply);
  REQUIRE(reply.has_value());
  REQUIRE(reply->cies.size() == 1);
  CHECK(reply->cies[0].code == CieCode::NoBindingExists);
}

}  // namespace

TEST_CASE("hub system: SIGTERM stops the hub with status 0 and removes the control socket") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  REQUIRE(std::filesystem::exists(hub.socket_path()));

  const int status = hub.terminate();
  CHECK(WIFEXITED(status));
  CHECK_MESSAGE(WEXITSTATUS(status) == 0, "hub log:\n" << hub.log());
  CHECK_FALSE(std::filesystem::exists(hub.socket_path()));
  CHECK(hub.log().find("stopped") != std::string::npos);
}

TEST_CASE("hub system: SIGHUP applies a modified config and keeps every registration") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  register_three(wire);
  const std::string kDebugLine = "no binding for " + kUnknownTarget.to_string();
  resolve_unknown(wire, 10);
  CHECK(hub.log().find(kDebugLine) == std::string::npos);  // info level: no per-packet lines

  HubSettings changed;
  changed.log_level = "debug";
  changed.rate_per_second = 50;
  changed.rate_burst = 100;
  hub.write_config(hub.config_text(changed) + "\n[redirect]\nrate_per_minute = 10\nburst = 2\n");
  hub.send_signal(SIGHUP);
  REQUIRE_MESSAGE(hub.wait_for_log("configuration reloaded", kReplyTimeout), hub.log());

  check_three_registered(hub);
  resolve_unknown(wire, 11);
  CHECK_MESSAGE(hub.wait_for_log(kDebugLine, kReplyTimeout), "log level debug not applied:\n" << hub.log());
  CHECK(register_spoke(wire, spoke(4), 4) == CieCode::Success);
  CHECK(hub.alive());
}

TEST_CASE("hub system: SIGHUP names every changed key that needs a restart, and applies the rest") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  register_three(wire);
  std::string changed = hub.config_text({});
  changed.replace(changed.find("[hub]\n"), 6, "[hub]\ntun_name = \"advpnd9\"\n");
  const std::string overlay = "overlay_prefix_length = 8\n";  // HubProcess's
  REQUIRE(changed.find(overlay) != std::string::npos);
  changed.replace(changed.find(overlay), overlay.size(), "overlay_prefix_length = 16\n");
  hub.write_config(changed + "\n[store]\nsynchronous = \"normal\"\n");
  hub.send_signal(SIGHUP);
  REQUIRE_MESSAGE(hub.wait_for_log("configuration reloaded", kReplyTimeout), hub.log());
  CHECK_MESSAGE(hub.log().find("SIGHUP: hub.overlay_prefix_length, hub.tun_name, store.synchronous changed but "
                               "need a restart: the running values are kept") != std::string::npos,
                hub.log());
  check_three_registered(hub);
  CHECK(hub.alive());
}

TEST_CASE("hub system: SIGHUP with a broken config logs FILE:LINE: KEY and keeps running on the old one") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  register_three(wire);
  const std::string good = hub.config_text({});

  SUBCASE("a value out of range") {
    const std::string broken = replace_line(good, "max_holding_time", "max_holding_time = 0");
    hub.write_config(broken);
    hub.send_signal(SIGHUP);
    const std::string where = hub.config_path() + ":" + std::to_string(line_of(broken, "max_holding_time")) +
                              ": registration.max_holding_time";
    CHECK_MESSAGE(hub.wait_for_log(where, kReplyTimeout), "expected \"" << where << "\" in:\n" << hub.log());
  }
  SUBCASE("a TOML syntax error") {
    const std::string broken = replace_line(good, "log_level", "log_level = \"debug");
    hub.write_config(broken);
    hub.send_signal(SIGHUP);
    const std::string where = hub.config_path() + ":" + std::to_string(line_of(broken, "log_level")) + ":";
    CHECK_MESSAGE(hub.wait_for_log(where, kReplyTimeout), "expected \"" << where << "\" in:\n" << hub.log());
  }
  CHECK(hub.log().find("SIGHUP: keeping the running config") != std::string::npos);
  CHECK(hub.log().find("configuration reloaded") == std::string::npos);
  REQUIRE(hub.alive());
  check_three_registered(hub);
  // Still the old config: the spoke's 7200 s are granted, registrations work.
  auto reply = exchange(wire, spoke(4), registration_request(spoke(4), 4), PacketType::RegistrationReply);
  REQUIRE(reply.has_value());
  REQUIRE(reply->cies.size() == 1);
  CHECK(reply->cies[0].code == CieCode::Success);
  CHECK(reply->cies[0].holding_time == 7200);
}

}  // namespace advpnd::test
