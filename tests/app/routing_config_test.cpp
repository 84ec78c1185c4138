// The [routing] section of both configs (app/routing_setup.h): defaults,
// overlay routes, and mistakes named by file, line and key.
#include <doctest/doctest.h>

#include "app/hub_config.h"
#include "app/spoke_config.h"
#include "tests/support/temp_file.h"

namespace advpnd::app {
namespace {

using test::write_text;

const char* kSpoke = R"([spoke]
nbma_address = "198.51.100.2"
protocol_address = "10.0.0.2"

[[nhs]]
nbma_address = "203.0.113.1"

[ipsec]
provider = "none"
)";

const char* kHub = R"([hub]
nbma_address = "203.0.113.1"
protocol_address = "10.0.0.1"
)";

TEST_CASE("routing config: the kernel's routes are followed by default, no routes installed") {
  test::TempFile file(".toml");
  auto config = load_spoke_config(write_text(file, kSpoke));
  REQUIRE(config.ok());
  CHECK(config->routing.follow_kernel_routes);
  CHECK(config->routing.overlay_routes.empty());
}

TEST_CASE("routing config: overlay routes and the switch, on a hub and on a spoke") {
  const std::string section = R"(
[routing]
follow_kernel_routes = false
overlay_routes = ["10.1.0.0/16", "10.2.3.4"]
)";
  test::TempFile spoke_file(".toml");
  auto spoke = load_spoke_config(write_text(spoke_file, std::string(kSpoke) + section));
  REQUIRE_MESSAGE(spoke.ok(), (spoke.ok() ? "" : spoke.error().to_string()));
  CHECK_FALSE(spoke->routing.follow_kernel_routes);
  REQUIRE(spoke->routing.overlay_routes.size() == 2);
  CHECK(spoke->routing.overlay_routes[0].to_string() == "10.1.0.0/16");
  CHECK(spoke->routing.overlay_routes[1].to_string() == "10.2.3.4/32");

  test::TempFile hub_file(".toml");
  auto hub = load_hub_config(write_text(hub_file, std::string(kHub) + section));
  REQUIRE_MESSAGE(hub.ok(), (hub.ok() ? "" : hub.error().to_string()));
  CHECK(hub->routing.overlay_routes.size() == 2);
}

TEST_CASE("routing config: a bad prefix or an unknown key names the line") {
  struct Bad {
    const char* routing;
    std::string key;
  };
  for (const Bad& bad : {Bad{"overlay_routes = [\"10.1.0.0/33\"]", "routing.overlay_routes"},
                         Bad{"overlay_routes = [\"2001:db8::/32\"]", "routing.overlay_routes"},
                         Bad{"overlay_routes = [\"10.1.0.0/\"]", "routing.overlay_routes"},
                         Bad{"follow_kernel_routes = \"yes\"", "routing.follow_kernel_routes"},
                         Bad{"static_routes = []", "routing.static_routes"}}) {
    CAPTURE(bad.routing);
    test::TempFile file(".toml");
    auto config = load_spoke_config(write_text(file, std::string(kSpoke) + "[routing]\n" + bad.routing + "\n"));
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().first().key == bad.key);
    CHECK(config.error().first().line == 11);
  }
}

}  // namespace
}  // namespace advpnd::app
