// SIGHUP on the real spoke daemon (app/spoke_reload.h), in a private
// network namespace with the clear-text `none` provider: a new [[nhs]]
// appears in `advpnctl show nhs` without a restart, and each changed key
// that needs one is named in a warning; a removed NHS too.
#include <doctest/doctest.h>

#include <csignal>

#include "tests/hub_system/hub_process.h"

namespace advpnd::test {
namespace {

struct SpokeFile {
  std::vector<std::string> nhs = {"127.0.0.2"};
  std::string extra_spoke_keys;
  std::string idle_timeout = "120";
  std::string password;
};

std::string spoke_config(const HubProcess& spoke, const SpokeFile& file) {
  std::string text = "[spoke]\nnbma_address = \"127.0.0.1\"\nprotocol_address = \"10.0.8.2\"\n";
  text += "control_socket = \"" + spoke.socket_path() + "\"\n" + file.extra_spoke_keys;
  for (const std::string& nbma : file.nhs) text += "\n[[nhs]]\nnbma_address = \"" + nbma + "\"\n";
  text += "\n[shortcuts]\nidle_timeout = " + file.idle_timeout + "\n";
  if (!file.password.empty()) text += "\n[authentication]\npassword = \"" + file.password + "\"\n";
  return text + "\n[ipsec]\nprovider = \"none\"\n";
}

std::vector<std::string> nhs_list(const HubProcess& spoke) {
  const CommandResult answer = spoke.ctl({"show", "nhs", "--json"});
  REQUIRE_MESSAGE(answer.exit_code == 0, answer.err);
  const JsonValue json = parse_json(answer.out);
  std::vector<std::string> out;
  for (const JsonValue& nhs : json["nhs"].items()) out.push_back(nhs["nbma"].as_string());
  return out;
}

HubSettings spoke_role() {
  HubSettings settings;
  settings.role = "spoke";
  return settings;
}

}  // namespace

TEST_CASE("spoke SIGHUP: a new NHS registers without a restart; keys that need one are named") {
  enter_test_netns();
  HubProcess spoke(spoke_role());
  spoke.write_config(spoke_config(spoke, {}));
  spoke.start();
  REQUIRE(nhs_list(spoke) == std::vector<std::string>{"127.0.0.2"});

  SpokeFile changed;
  changed.nhs = {"127.0.0.2", "127.0.0.3"};
  changed.idle_timeout = "30";
  changed.password = "secret";
  changed.extra_spoke_keys = "mtu = 1300\ntun_name = \"advpnd7\"\n";
  spoke.write_config(spoke_config(spoke, changed));
  spoke.send_signal(SIGHUP);
  REQUIRE_MESSAGE(spoke.wait_for_log("SIGHUP: configuration reloaded", kReplyTimeout), spoke.log());
  CHECK(nhs_list(spoke) == std::vector<std::string>{"127.0.0.2", "127.0.0.3"});
  const std::string log = spoke.log();
  CHECK_MESSAGE(log.find("NHS 127.0.0.3 added, authentication password, shortcut timers") != std::string::npos, log);
  CHECK_MESSAGE(log.find("SIGHUP: spoke.mtu, spoke.tun_name changed but need a restart: the running values are kept") !=
                    std::string::npos,
                log);
  CHECK(log.find("NHS 127.0.0.3: bringing up its tunnel") != std::string::npos);

  // An NHS removed from the file stays until a restart, and the warning says so.
  SpokeFile removed = changed;
  removed.nhs = {"127.0.0.3"};
  spoke.write_config(spoke_config(spoke, removed));
  spoke.send_signal(SIGHUP);
  CHECK_MESSAGE(
      spoke.wait_for_log("spoke.mtu, spoke.tun_name, nhs[0] (127.0.0.2) changed but need a restart", kReplyTimeout),
      spoke.log());
  CHECK(nhs_list(spoke).size() == 2);
  CHECK(spoke.alive());
}

}  // namespace advpnd::test
