// Config loading: the shipped examples load with the values they document,
// and every kind of mistake names the file, the line and the key.
#include <doctest/doctest.h>

#include "app/hub_config.h"
#include "app/spoke_config.h"
#include "tests/support/temp_file.h"

namespace advpnd::app {
namespace {

using test::write_text;

const char* kMinimalSpoke = R"([spoke]
nbma_address = "198.51.100.2"
protocol_address = "10.0.0.2"

[[nhs]]
nbma_address = "203.0.113.1"

[ipsec]
provider = "none"
)";

TEST_CASE("config: deploy/spoke.toml loads with the documented values") {
  auto config = load_spoke_config(std::string(ADVPND_SOURCE_DIR) + "/deploy/spoke.toml");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().to_string()));
  CHECK(config->agent.nhc.nbma == *IpAddress::parse("198.51.100.2"));
  CHECK(config->agent.nhc.protocol == *IpAddress::parse("10.0.0.2"));
  REQUIRE(config->agent.nhc.servers.size() == 1);
  CHECK(config->agent.nhc.servers[0].nbma == *IpAddress::parse("203.0.113.1"));
  CHECK(config->agent.nhc.holding_time == 7200);
  CHECK(config->agent.shortcuts.idle_timeout == std::chrono::seconds(120));
  CHECK(config->provider == ProviderKind::Strongswan);
  CHECK(config->strongswan.policy.auth.psk == "change-me");
  CHECK(config->strongswan.local_nbma == *IpAddress::parse("198.51.100.2"));
  CHECK(config->tun_name == "advpnd0");
  CHECK(config_role(std::string(ADVPND_SOURCE_DIR) + "/deploy/spoke.toml").value() == ConfigRole::Spoke);
  CHECK(config_role(std::string(ADVPND_SOURCE_DIR) + "/deploy/hub.toml").value() == ConfigRole::Hub);
}

TEST_CASE("config: deploy/hub.toml loads with the documented values") {
  auto config = load_hub_config(std::string(ADVPND_SOURCE_DIR) + "/deploy/hub.toml");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().to_string()));
  CHECK(config->nhs.nbma == *IpAddress::parse("203.0.113.1"));
  CHECK(config->nhs.max_holding_time == 7200);
  CHECK_FALSE(config->nhs.unique_overwrite);
  CHECK(config->nhs.redirect.rate.per_second == doctest::Approx(4.0 / 60.0));
  CHECK(config->nhs.overlay_prefix_length == 24);
  CHECK(config->nhs.max_cies_per_request == 8);
  CHECK(config->nhs.max_bindings_per_spoke == 16);
  CHECK(config->nhs.allow_lan_prefixes);
}

struct BadCase {
  const char* name;
  std::string text;
  std::size_t line;
  const char* key;
};

const char* kMinimalHub = R"([hub]
nbma_address = "203.0.113.1"
protocol_address = "10.0.0.1"
overlay_prefix_length = 16

[registration]
)";

TEST_CASE("config: the hub's registration limits and address policy (issue #12)") {
  test::TempFile file(".toml");
  auto config = load_hub_config(write_text(file, std::string(kMinimalHub) + R"(max_cies_per_request = 2
max_bindings_per_spoke = 100
allow_lan_prefixes = false
)"));
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().to_string()));
  CHECK(config->nhs.overlay_prefix_length == 16);
  CHECK(config->nhs.max_cies_per_request == 2);
  CHECK(config->nhs.max_bindings_per_spoke == 100);
  CHECK_FALSE(config->nhs.allow_lan_prefixes);

  const std::vector<BadCase> cases{
      {"no CIEs at all", std::string(kMinimalHub) + "max_cies_per_request = 0\n", 7,
       "registration.max_cies_per_request"},
      {"more CIEs than a packet holds", std::string(kMinimalHub) + "max_cies_per_request = 256\n", 7,
       "registration.max_cies_per_request"},
      {"negative limit", std::string(kMinimalHub) + "max_bindings_per_spoke = -1\n", 7,
       "registration.max_bindings_per_spoke"},
      {"limit as text", std::string(kMinimalHub) + "max_bindings_per_spoke = \"16\"\n", 7,
       "registration.max_bindings_per_spoke"},
      {"not a boolean", std::string(kMinimalHub) + "allow_lan_prefixes = \"yes\"\n", 7,
       "registration.allow_lan_prefixes"},
      {"misspelt", std::string(kMinimalHub) + "allow_lan_prefix = true\n", 7, "registration.allow_lan_prefix"},
  };
  for (const BadCase& bad : cases) {
    CAPTURE(bad.name);
    test::TempFile bad_file(".toml");
    const std::string path = write_text(bad_file, bad.text);
    auto loaded = load_hub_config(path);
    REQUIRE_FALSE(loaded.ok());
    REQUIRE(loaded.error().errors.size() == 1);
    CHECK(loaded.error().first().file == path);
    CHECK(loaded.error().first().line == bad.line);
    CHECK(loaded.error().first().key == bad.key);
    CHECK(loaded.error().to_string().find(path + ":" + std::to_string(bad.line) + ": " + bad.key) == 0);
  }
}

// Issue #12 part 2: the hub's own charon, and what each identity may register.
const char* kHubHead = R"([hub]
nbma_address = "203.0.113.1"
protocol_address = "10.0.0.1"
)";

TEST_CASE("config: the hub's [ipsec] and [[policy]] (issue #12 part 2)") {
  test::TempFile plain(".toml");
  auto defaults = load_hub_config(write_text(plain, kHubHead));
  REQUIRE_MESSAGE(defaults.ok(), (defaults.ok() ? "" : defaults.error().to_string()));
  CHECK(defaults->provider == HubDaemonConfig::Provider::Strongswan);  // secure by default
  CHECK(defaults->vici_socket == "/var/run/charon.vici");
  CHECK(defaults->ipsec_interface == "ipsec0");
  CHECK(defaults->nhs.identity_policies.empty());
  CHECK(defaults->warnings.empty());

  test::TempFile file(".toml");
  auto config = load_hub_config(write_text(file, std::string(kHubHead) + R"(
[ipsec]
provider = "none"
vici_socket = "/run/lab/charon.vici"
interface = ""

[[policy]]
identity = "10.0.0.11"
prefixes = ["10.1.1.0/24", "10.2.0.0/16"]

[[policy]]
identity = "CN=spoke2.example.net"
addresses = ["10.0.0.12"]
max_bindings = 3
)"));
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().to_string()));
  CHECK(config->provider == HubDaemonConfig::Provider::None);
  REQUIRE(config->warnings.size() == 1);  // "none" is said out loud
  CHECK(config->warnings[0].key == "ipsec.provider");
  CHECK(config->vici_socket == "/run/lab/charon.vici");
  CHECK(config->ipsec_interface.empty());
  REQUIRE(config->nhs.identity_policies.size() == 2);
  const hub::IdentityPolicy& first = config->nhs.identity_policies[0];
  CHECK(first.identity == "10.0.0.11");
  REQUIRE(first.prefixes.size() == 2);
  CHECK(first.prefixes[1].address == *IpAddress::parse("10.2.0.0"));
  CHECK(first.prefixes[1].length == 16);
  CHECK_FALSE(first.max_bindings.has_value());
  const hub::IdentityPolicy& second = config->nhs.identity_policies[1];
  REQUIRE(second.addresses.size() == 1);
  CHECK(second.addresses[0] == *IpAddress::parse("10.0.0.12"));
  CHECK(second.max_bindings == std::size_t{3});
}

TEST_CASE("config: mistakes in the hub's [ipsec] and [[policy]] name the file, the line and the key") {
  const std::string head = kHubHead;
  const std::vector<BadCase> cases{
      {"unknown provider", head + "[ipsec]\nprovider = \"racoon\"\n", 5, "ipsec.provider"},
      {"relative socket", head + "[ipsec]\nvici_socket = \"charon.vici\"\n", 5, "ipsec.vici_socket"},
      {"interface too long", head + "[ipsec]\ninterface = \"a-very-long-ifname\"\n", 5, "ipsec.interface"},
      {"misspelt ipsec key", head + "[ipsec]\nvici = \"/x\"\n", 5, "ipsec.vici"},
      {"policy without identity", head + "[[policy]]\nprefixes = [\"10.1.1.0/24\"]\n", 4, "policy[0].identity"},
      {"address outside the overlay", head + "[[policy]]\nidentity = \"a\"\naddresses = [\"10.9.0.1\"]\n", 6,
       "policy[0].addresses"},
      {"bad prefix", head + "[[policy]]\nidentity = \"a\"\nprefixes = [\"10.1.1.0/33\"]\n", 6, "policy[0].prefixes"},
      {"zero bindings", head + "[[policy]]\nidentity = \"a\"\nmax_bindings = 0\n", 6, "policy[0].max_bindings"},
      {"same identity twice", head + "[[policy]]\nidentity = \"a\"\n[[policy]]\nidentity = \"a\"\n", 7,
       "policy[1].identity"},
      {"misspelt policy key", head + "[[policy]]\nidentity = \"a\"\nprefix = []\n", 6, "policy[0].prefix"},
  };
  for (const BadCase& bad : cases) {
    CAPTURE(bad.name);
    test::TempFile bad_file(".toml");
    const std::string path = write_text(bad_file, bad.text);
    auto loaded = load_hub_config(path);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error().first().file == path);
    CHECK(loaded.error().first().line == bad.line);
    CHECK(loaded.error().first().key == bad.key);
  }
}

TEST_CASE("config: the spoke's [ipsec] auth and interface (issue #12 part 2)") {
  const std::string head = R"([spoke]
nbma_address = "198.51.100.2"
protocol_address = "10.0.0.2"

[[nhs]]
nbma_address = "203.0.113.1"

[ipsec]
)";
  test::TempFile psk(".toml");
  auto tunnel = load_spoke_config(write_text(psk, head + "psk = \"k\"\nauth = \"psk\"\n"));
  REQUIRE_MESSAGE(tunnel.ok(), (tunnel.ok() ? "" : tunnel.error().to_string()));
  CHECK(tunnel->ipsec_interface == "ipsec0");  // kernel-libipsec: decrypted GRE comes from its TUN
  test::TempFile transport(".toml");
  auto xfrm = load_spoke_config(write_text(transport, head + "psk = \"k\"\nmode = \"transport\"\n"));
  REQUIRE(xfrm.ok());
  CHECK(xfrm->ipsec_interface.empty());  // kernel ESP keeps the WAN's interface
  test::TempFile none(".toml");
  auto clear = load_spoke_config(write_text(none, kMinimalSpoke));
  REQUIRE(clear.ok());
  CHECK(clear->ipsec_interface.empty());

  // auth = "pubkey" without the certificate is an error, not a fall-back to the PSK.
  test::TempFile bad(".toml");
  auto refused = load_spoke_config(write_text(bad, head + "psk = \"k\"\nauth = \"pubkey\"\n"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().first().key == "ipsec.auth");
  CHECK(refused.error().first().line == 10);
  test::TempFile bad_if(".toml");
  auto none_if = load_spoke_config(write_text(bad_if, std::string(kMinimalSpoke) + "interface = \"ipsec0\"\n"));
  REQUIRE_FALSE(none_if.ok());
  CHECK(none_if.error().first().key == "ipsec.interface");
}

TEST_CASE("config: a regional hub's upstream NHSs (issue #11 hierarchy)") {
  test::TempFile file(".toml");
  auto config = load_hub_config(write_text(file, std::string(kMinimalHub) + R"(
[[upstream]]
nbma_address = "203.0.113.100"
protocol_address = "10.0.0.100"

[[upstream]]
nbma_address = "203.0.113.101"
protocol_address = "10.0.0.101"
)"));
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().to_string()));
  REQUIRE(config->nhs.upstream.size() == 2);
  CHECK(config->nhs.upstream[0].nbma.to_string() == "203.0.113.100");
  CHECK(config->nhs.upstream[0].protocol.to_string() == "10.0.0.100");
  CHECK(config->nhs.upstream[1].nbma.to_string() == "203.0.113.101");
  auto top = load_hub_config(write_text(file, kMinimalHub));
  REQUIRE(top.ok());
  CHECK(top->nhs.upstream.empty());

  const std::string upstream = std::string(kMinimalHub) + "\n[[upstream]]\n";  // [[upstream]] on line 8
  const std::vector<BadCase> cases{
      {"no protocol address", upstream + "nbma_address = \"203.0.113.100\"\n", 8, "upstream[0].protocol_address"},
      {"the hub itself", upstream + "nbma_address = \"203.0.113.1\"\nprotocol_address = \"10.0.0.100\"\n", 9,
       "upstream[0].nbma_address"},
      {"its own overlay address", upstream + "nbma_address = \"203.0.113.100\"\nprotocol_address = \"10.0.0.1\"\n",
       10, "upstream[0].protocol_address"},
      {"IPv6 NBMA", upstream + "nbma_address = \"2001:db8::1\"\nprotocol_address = \"10.0.0.100\"\n", 9,
       "upstream[0].nbma_address"},
      {"twice", upstream + "nbma_address = \"203.0.113.100\"\nprotocol_address = \"10.0.0.100\"\n"
                           "[[upstream]]\nnbma_address = \"203.0.113.100\"\nprotocol_address = \"10.0.0.102\"\n",
       12, "upstream[1].nbma_address"},
      {"misspelt", upstream + "nbma_address = \"203.0.113.100\"\nprotocol_address = \"10.0.0.100\"\nprority = 1\n",
       11, "upstream[0].prority"},
  };
  for (const BadCase& bad : cases) {
    CAPTURE(bad.name);
    test::TempFile bad_file(".toml");
    const std::string path = write_text(bad_file, bad.text);
    auto loaded = load_hub_config(path);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error().errors.size() == 1);
    CHECK(loaded.error().first().line == bad.line);
    CHECK(loaded.error().first().key == bad.key);
  }
}

TEST_CASE("config: several NHSs, local prefixes, authentication and shortcuts") {
  test::TempFile file(".toml");
  const std::string path = write_text(file, std::string(kMinimalSpoke) + R"(
[[nhs]]
nbma_address = "203.0.113.2"
protocol_address = "10.0.0.254"
priority = 1

[authentication]
password = "secret"

[shortcuts]
idle_timeout = 30
)" + "\n");
  // local_prefixes belong to [spoke]: append them there.
  auto config = load_spoke_config(path);
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().to_string()));
  REQUIRE(config->agent.nhc.servers.size() == 2);
  CHECK(config->agent.nhc.servers[1].protocol == *IpAddress::parse("10.0.0.254"));
  CHECK(config->agent.nhc.servers[1].priority == 1);
  CHECK(config->agent.nhc.servers[0].protocol.empty());  // learned from the reply
  CHECK(config->agent.nhc.auth_password == std::optional<std::string>("secret"));
  CHECK(config->agent.shortcuts.idle_timeout == std::chrono::seconds(30));
  CHECK(config->provider == ProviderKind::None);
}

TEST_CASE("config: mistakes name the file, the line and the key") {
  const std::vector<BadCase> cases{
      {"unknown key", std::string(kMinimalSpoke) + "idle = 3\n", 10, "ipsec.idle"},
      {"bad address", R"([spoke]
nbma_address = "198.51.100.300"
protocol_address = "10.0.0.2"
[[nhs]]
nbma_address = "203.0.113.1"
)",
       2, "spoke.nbma_address"},
      {"nhs without address", R"([spoke]
nbma_address = "198.51.100.2"
protocol_address = "10.0.0.2"
[[nhs]]
priority = 1
)",
       4, "nhs[0].nbma_address"},
      {"priority out of range",
       std::string(kMinimalSpoke) + "[[nhs]]\nnbma_address = \"203.0.113.9\"\npriority = 300\n", 12, "nhs[1].priority"},
      {"bad prefix", R"([spoke]
nbma_address = "198.51.100.2"
protocol_address = "10.0.0.2"
local_prefixes = ["192.168.2.0/40"]
[[nhs]]
nbma_address = "203.0.113.1"
)",
       4, "spoke.local_prefixes"},
      {"password too long", std::string(kMinimalSpoke) + "[authentication]\npassword = \"ninechars\"\n", 11,
       "authentication.password"},
      {"unknown section", std::string(kMinimalSpoke) + "[dataplane]\nx = 1\n", 10, "dataplane"},
  };
  for (const BadCase& bad : cases) {
    CAPTURE(bad.name);
    test::TempFile file(".toml");
    const std::string path = write_text(file, bad.text);
    auto config = load_spoke_config(path);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().first().file == path);
    CHECK(config.error().first().line == bad.line);
    CHECK(config.error().first().key == bad.key);
    CHECK(config.error().first().to_string().find(path + ":" + std::to_string(bad.line) + ": " + bad.key) == 0);
  }
}

TEST_CASE("config: a TOML syntax error names the line; a file with no role is refused") {
  test::TempFile broken(".toml");
  auto config = load_spoke_config(write_text(broken, "[spoke]\nnbma_address = \"198.51.100.2\n"));
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().first().line == 2);
  test::TempFile neither(".toml");
  CHECK_FALSE(config_role(write_text(neither, "[something]\n")).ok());
  test::TempFile both(".toml");
  CHECK_FALSE(config_role(write_text(both, "[hub]\n[spoke]\n")).ok());
}

}  // namespace
}  // namespace advpnd::app
