// The [multicast] section of both configs (app/multicast_config.h): on by
// default, the bounds, the hub-only per-spoke keys, and mistakes named by
// file, line and key.
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

TEST_CASE("multicast config: on by default with bounds, on both roles") {
  test::TempFile spoke_file(".toml");
  auto spoke = load_spoke_config(write_text(spoke_file, kSpoke));
  REQUIRE(spoke.ok());
  CHECK(spoke->multicast.enabled);
  CHECK(spoke->multicast.total.per_second > 0);
  test::TempFile hub_file(".toml");
  auto hub = load_hub_config(write_text(hub_file, kHub));
  REQUIRE(hub.ok());
  CHECK(hub->multicast.enabled);
  CHECK(hub->multicast.per_source.per_second > 0);
  CHECK(hub->multicast.per_source.per_second <= hub->multicast.total.per_second);
}

TEST_CASE("multicast config: the keys are read") {
  test::TempFile hub_file(".toml");
  auto hub = load_hub_config(write_text(hub_file, std::string(kHub) + R"(
[multicast]
enabled = false
per_spoke_rate_per_second = 5
per_spoke_burst = 10
rate_per_second = 200
burst = 300
)"));
  REQUIRE_MESSAGE(hub.ok(), (hub.ok() ? "" : hub.error().to_string()));
  CHECK_FALSE(hub->multicast.enabled);
  CHECK(hub->multicast.per_source.per_second == 5);
  CHECK(hub->multicast.per_source.burst == 10);
  CHECK(hub->multicast.total.per_second == 200);
  CHECK(hub->multicast.total.burst == 300);

  test::TempFile spoke_file(".toml");
  auto spoke =
      load_spoke_config(write_text(spoke_file, std::string(kSpoke) + "[multicast]\nrate_per_second = 7\nburst = 9\n"));
  REQUIRE_MESSAGE(spoke.ok(), (spoke.ok() ? "" : spoke.error().to_string()));
  CHECK(spoke->multicast.enabled);
  CHECK(spoke->multicast.total.per_second == 7);
  CHECK(spoke->multicast.total.burst == 9);
}

TEST_CASE("multicast config: bad values, and the per-spoke keys on a spoke, name the line and key") {
  struct Bad {
    const char* line;
    std::string key;
  };
  for (const Bad& bad : {Bad{"enabled = \"yes\"", "multicast.enabled"},
                         Bad{"rate_per_second = 0", "multicast.rate_per_second"}, Bad{"burst = 0.5", "multicast.burst"},
                         Bad{"per_spoke_rate_per_second = 5", "multicast.per_spoke_rate_per_second"},
                         Bad{"flood = true", "multicast.flood"}}) {
    CAPTURE(bad.line);
    test::TempFile file(".toml");
    auto config = load_spoke_config(write_text(file, std::string(kSpoke) + "[multicast]\n" + bad.line + "\n"));
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().first().key == bad.key);
    CHECK(config.error().first().line == 11);
  }
  test::TempFile file(".toml");
  auto hub = load_hub_config(write_text(file, std::string(kHub) + "[multicast]\nper_spoke_burst = -1\n"));
  REQUIRE_FALSE(hub.ok());
  CHECK(hub.error().first().key == "multicast.per_spoke_burst");
  CHECK(hub.error().first().line == 5);
}

}  // namespace
}  // namespace advpnd::app
