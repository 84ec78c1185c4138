// The control socket (app/control_server.h, app/hub_control.h) of the real
// daemon: mode 0600, errors for unknown commands, and `advpnctl clear
// registration ADDR` removing a binding from memory and from the SQLite file.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include "platform/unique_fd.h"
#include "tests/hub_system/db_rows.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using nhrp::CieCode;

SimSpoke spoke(std::uint8_t n) {
  return SimSpoke{IpAddress::v4(127, 0, 4, n), IpAddress::v4(127, 0, 4, n), IpAddress::v4(10, 0, 4, n)};
}

// One command line over the socket, as advpnctl sends it; the raw answer.
std::string raw_request(const std::string& path, const std::string& line) {
  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);  // NOLINT
  const timeval timeout{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  REQUIRE(::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()));
  std::string answer;
  char chunk[4096];
  for (ssize_t n = 0; (n = ::recv(fd.get(), chunk, sizeof chunk, 0)) > 0;) {
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  return answer;
}

}  // namespace

TEST_CASE("hub system: the control socket is mode 0600 and refuses unknown commands") {
  enter_test_netns();
  HubProcess hub;
  hub.start();

  struct stat st {};
  REQUIRE(::stat(hub.socket_path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);

  // What the daemon answers to a command it does not know: "error", then why.
  const std::string answer = raw_request(hub.socket_path(), "reboot the hub\n");
  CHECK(answer.rfind("error\n", 0) == 0);
  CHECK(answer.find("unknown command \"reboot the hub\"") != std::string::npos);

  // advpnctl refuses what it does not know before asking the daemon.
  const CommandResult bogus = hub.ctl({"show", "bogus"});
  CHECK(bogus.exit_code == 1);
  CHECK_FALSE(bogus.err.empty());
  const CommandResult verb = hub.ctl({"reboot"});
  CHECK(verb.exit_code == 1);
  CHECK_FALSE(verb.err.empty());

  // A daemon-side refusal: exit 1 with the daemon's message on stderr.
  const CommandResult bad_address = hub.ctl({"clear", "registration", "not-an-address"});
  CHECK(bad_address.exit_code == 1);
  CHECK(bad_address.err.find("\"not-an-address\" is not an IP address") != std::string::npos);

  // No daemon at all: a different status (2) and a message naming the socket.
  const CommandResult absent = run_command({ADVPNCTL_BIN, "-s", hub.file("absent.sock"), "show", "stats"});
  CHECK(absent.exit_code == 2);
  CHECK(absent.err.find("absent.sock") != std::string::npos);
  CHECK(hub.alive());
}

TEST_CASE("hub system: advpnctl clear registration removes the binding from memory and from the SQLite file") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  REQUIRE(register_spoke(wire, spoke(2), 2) == CieCode::Success);
  REQUIRE(read_db_bindings(hub.database_path()).size() == 2);

  const CommandResult cleared = hub.ctl({"clear", "registration", spoke(1).protocol.to_string()});
  CHECK_MESSAGE(cleared.exit_code == 0, cleared.err);
  CHECK(cleared.out.find("cleared 1 registration") != std::string::npos);

  const JsonValue json = hub.registrations();
  CHECK(json["count"].as_int() == 1);
  CHECK(find_registration(json, spoke(1).protocol) == nullptr);
  CHECK(find_registration(json, spoke(2).protocol) != nullptr);
  const auto rows = read_db_bindings(hub.database_path());
  CHECK(rows.size() == 1);
  CHECK_FALSE(find_db_binding(rows, spoke(1).protocol).has_value());
  // The table for people says the same.
  const CommandResult table = hub.ctl({"show", "registrations"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find(spoke(2).protocol.to_string() + "/32") != std::string::npos);
  CHECK(table.out.find(spoke(1).protocol.to_string() + "/32") == std::string::npos);
  CHECK(table.out.find("1 registrations") != std::string::npos);

  // It no longer resolves; clearing it again clears nothing.
  auto reply =
      exchange(wire, spoke(2), resolution_request(spoke(2), spoke(1).protocol, 10), nhrp::PacketType::ResolutionReply);
  REQUIRE(reply.has_value());
  REQUIRE(reply->cies.size() == 1);
  CHECK(reply->cies[0].code == CieCode::NoBindingExists);
  const CommandResult again = hub.ctl({"clear", "registration", spoke(1).protocol.to_string()});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("cleared 0 registration") != std::string::npos);
  // The spoke can register again.
  CHECK(register_spoke(wire, spoke(1), 3) == CieCode::Success);
}

}  // namespace advpnd::test
