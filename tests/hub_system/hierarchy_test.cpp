// A regional hub under a central hub, both real `advpnd hub` processes on
// loopback in the test's namespace (issue #11 hierarchy): the regional hub
// registers its own address upward ([[upstream]]), `advpnctl show upstream`
// says so, the central hub holds the binding in its SQLite file, and a
// clean stop of the regional hub purges it there.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/hub_system/db_rows.h"
#include "tests/hub_system/hub_process.h"

namespace advpnd::test {
namespace {

const IpAddress kRegionalNbma = IpAddress::v4(127, 0, 0, 2);
const IpAddress kRegionalProtocol = IpAddress::v4(10, 1, 0, 1);

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Polls `done` every 50 ms for up to 10 s.
template <class F>
bool eventually(F&& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

bool holds(const HubProcess& hub, const IpAddress& protocol) {
  return find_registration(hub.registrations(), protocol) != nullptr;
}

}  // namespace

TEST_CASE("hub system: a regional hub registers upward, shows it, and purges it when it stops") {
  enter_test_netns();
  HubProcess central;
  central.start();

  HubProcess regional;
  std::string text = regional.config_text({});
  text = replaced(text, "nbma_address = \"127.0.0.1\"", "nbma_address = \"" + kRegionalNbma.to_string() + "\"");
  text = replaced(text, "protocol_address = \"10.0.0.1\"",
                  "protocol_address = \"" + kRegionalProtocol.to_string() + "\"\ntun_name = \"advpnd1\"");
  text += "\n[[upstream]]\nnbma_address = \"" + kHubNbma.to_string() + "\"\nprotocol_address = \"" +
          kHubProtocol.to_string() + "\"\n";
  regional.write_config(text);
  regional.start();

  REQUIRE(eventually([&] { return holds(central, kRegionalProtocol); }));
  const auto rows = read_db_bindings(central.database_path());
  const auto stored = find_db_binding(rows, kRegionalProtocol);
  REQUIRE(stored.has_value());
  CHECK(stored->nbma == kRegionalNbma);

  const CommandResult json = regional.ctl({"show", "upstream", "--json"});
  REQUIRE_MESSAGE(json.exit_code == 0, json.err);
  const JsonValue upstream = parse_json(json.out);
  REQUIRE(upstream["upstream"].size() == 1);
  CHECK(upstream["upstream"][0]["nbma"].as_string() == kHubNbma.to_string());
  CHECK(upstream["upstream"][0]["state"].as_string() == "registered");
  CHECK(upstream["up"].as_int() == 1);
  const CommandResult table = regional.ctl({"show", "upstream"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find(kHubNbma.to_string()) != std::string::npos);
  // The top hub has nothing above it, and says so.
  const CommandResult top = central.ctl({"show", "upstream"});
  CHECK(top.exit_code == 0);
  CHECK(top.out.find("top of its hierarchy") != std::string::npos);

  CHECK(regional.terminate() == 0);
  CHECK(eventually([&] { return !holds(central, kRegionalProtocol); }));
}

}  // namespace advpnd::test
