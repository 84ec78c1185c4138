// `advpnd check --config FILE` and `advpnd hub` on bad configs
// (app/hub_config.h): every error is "FILE:LINE: KEY: problem"; check exits
// 0 or 1, the hub exits 2 on a bad config without starting anything.
// These run no daemon and need no root.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "tests/db/db_test_support.h"
#include "tests/hub_system/hub_process.h"

namespace advpnd::test {
namespace {

const std::string kHubTable =
    "[hub]\n"
    "nbma_address = \"127.0.0.1\"\n"
    "protocol_address = \"10.0.0.1\"\n";

struct BadConfig {
  const char* name;
  std::string text;
  std::size_t line;
  std::string key;  // empty for a TOML syntax error (no key to name)
  std::string problem;
};

const BadConfig kBadConfigs[] = {
    {"unknown key", kHubTable + "frobnicate = 1\n", 4, "hub.frobnicate", "unknown key"},
    {"unknown section", kHubTable + "[hubb]\nmtu = 1\n", 4, "hubb", "unknown section"},
    {"bad address", "[hub]\nnbma_address = \"127.0.0.300\"\nprotocol_address = \"10.0.0.1\"\n", 2, "hub.nbma_address",
     "\"127.0.0.300\" is not an IPv4 or IPv6 address"},
    {"out-of-range number", kHubTable + "[registration]\nmax_holding_time = 70000\n", 5,
     "registration.max_holding_time", "must be 1..65535"},
    {"wrong type", kHubTable + "[redirect]\nenabled = \"yes\"\n", 5, "redirect.enabled", "must be true or false"},
    {"password too long", kHubTable + "\n[authentication]\npassword = \"much-too-long\"\n", 6,
     "authentication.password", "must be 1..8 characters"},
    {"TOML syntax error", kHubTable + "mtu = = 3\n", 4, "", ""},
};

std::string write(const db::test::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("hub system: advpnd check accepts the shipped example and a test config") {
  const CommandResult shipped = run_advpnd({"check", "--config", std::string(ADVPND_SOURCE_DIR) + "/deploy/hub.toml"});
  CHECK_MESSAGE(shipped.exit_code == 0, shipped.err);
  CHECK(shipped.out.find(": ok") != std::string::npos);

  const HubProcess hub;  // writes its config; not started
  const CommandResult ours = run_advpnd({"check", "--config", hub.config_path()});
  CHECK_MESSAGE(ours.exit_code == 0, ours.err);
  CHECK(ours.out == hub.config_path() + ": ok (hub 10.0.0.1 on 127.0.0.1)\n");
}

TEST_CASE("hub system: advpnd check and advpnd hub name FILE:LINE: KEY of a bad config") {
  const db::test::TempDir dir;
  for (const BadConfig& bad : kBadConfigs) {
    CAPTURE(bad.name);
    const std::string path = write(dir, "bad.toml", bad.text);
    std::string expected = path + ":" + std::to_string(bad.line) + ":";
    if (!bad.key.empty()) expected += " " + bad.key + ": " + bad.problem;

    const CommandResult check = run_advpnd({"check", "--config", path});
    CHECK(check.exit_code == 1);
    CHECK(check.out.empty());
    CHECK_MESSAGE(check.err.rfind(expected, 0) == 0, "expected \"" << expected << "...\", got: " << check.err);

    const CommandResult hub = run_advpnd({"hub", "--config", path});
    CHECK(hub.exit_code == 2);
    CHECK_MESSAGE(hub.err.find(expected) != std::string::npos, "expected \"" << expected << "\" in: " << hub.err);
  }
}

TEST_CASE("hub system: a missing config file is an error, not a default") {
  const db::test::TempDir dir;
  const std::string path = dir.file("absent.toml");
  const CommandResult check = run_advpnd({"check", "--config", path});
  CHECK(check.exit_code == 1);
  CHECK(check.err.find(path) != std::string::npos);
  CHECK(run_advpnd({"hub", "--config", path}).exit_code == 2);
}

}  // namespace advpnd::test
