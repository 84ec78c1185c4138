// Least privilege and systemd integration of the real hub (issue 14):
//   - after start-up it runs as the --user given (nobody here: no test
//     depends on an advpnd user), with every capability set empty and
//     no_new_privs, read from /proc/PID/status; its database and control
//     socket folders were made for that user, and registrations still commit;
//   - an unknown --user stops it with the name in the error;
//   - under systemd's notify protocol it says READY=1 once its control socket
//     answers, pings WATCHDOG=1 at half WATCHDOG_USEC for as long as it runs
//     (counted over a second), and STOPPING=1 on SIGTERM;
//   - with stderr as journald's stream ($JOURNAL_STREAM = its device:inode)
//     each line carries its syslog priority "<N>" instead of a timestamp.
#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "platform/unique_fd.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;

// "Key:\tvalue" lines of /proc/PID/status.
std::map<std::string, std::string> proc_status(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of(" \t", colon + 1);
    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::string repeated(const std::string& id) { return id + "\t" + id + "\t" + id + "\t" + id; }

void check_without_capabilities(const std::map<std::string, std::string>& status) {
  CHECK(status.at("CapEff") == "0000000000000000");
  CHECK(status.at("CapPrm") == "0000000000000000");
  CHECK(status.at("CapInh") == "0000000000000000");
  CHECK(status.at("CapAmb") == "0000000000000000");
  CHECK(status.at("NoNewPrivs") == "1");
}

SimSpoke spoke(std::uint8_t n) {
  return SimSpoke{IpAddress::v4(127, 0, 4, n), IpAddress::v4(127, 0, 4, n), IpAddress::v4(10, 0, 4, n)};
}

// A datagram socket like systemd's notify socket, writable by anyone.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path)
      : path_(std::move(path)), fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path_.data(), path_.size());
    REQUIRE(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  }
  // The next datagram within `timeout`; empty when none came.
  std::string receive(std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::array<char, 1024> buffer{};
    const ssize_t got = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
    return got > 0 ? std::string(buffer.data(), static_cast<std::size_t>(got)) : std::string();
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  platform::UniqueFd fd_;
};

}  // namespace

TEST_CASE("hub system: --user nobody, after start-up: its uid and gid, no capabilities, no_new_privs") {
  enter_test_netns();
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE_MESSAGE(nobody != nullptr, "the test needs the user nobody");
  const uid_t nobody_uid = nobody->pw_uid;
  const gid_t nobody_gid = nobody->pw_gid;

  // Folders that do not exist yet, under one that nobody may traverse: the
  // hub creates them before switching user and gives them to nobody.
  db::test::TempDir work;
  REQUIRE(::chmod(work.path().c_str(), 0711) == 0);
  HubSettings settings;
  settings.database = work.file("state/hub.db");
  settings.control_socket = work.file("run/hub.sock");
  settings.extra_args = {"--user", "nobody"};
  HubProcess hub(settings);
  hub.start();

  const auto status = proc_status(hub.pid());
  CHECK(status.at("Uid") == repeated(std::to_string(nobody_uid)));
  CHECK(status.at("Gid") == repeated(std::to_string(nobody_gid)));
  check_without_capabilities(status);
  CHECK_MESSAGE(hub.log().find("running as nobody (uid " + std::to_string(nobody_uid)) != std::string::npos, hub.log());

  // Still a working hub: a registration commits to a database nobody owns.
  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == nhrp::CieCode::Success);
  CHECK(find_registration(hub.registrations(), spoke(1).protocol) != nullptr);
  struct stat database {};
  REQUIRE(::stat(settings.database.c_str(), &database) == 0);
  CHECK(database.st_uid == nobody_uid);
  struct stat run_folder {};
  REQUIRE(::stat(work.file("run").c_str(), &run_folder) == 0);
  CHECK(run_folder.st_uid == nobody_uid);

  const int exit_status = hub.terminate();
  CHECK(WIFEXITED(exit_status));
  CHECK_MESSAGE(WEXITSTATUS(exit_status) == 0, hub.log());
}

TEST_CASE("hub system: --user root keeps the uid but still clears every capability") {
  enter_test_netns();
  HubSettings settings;
  settings.extra_args = {"--user", "root"};
  HubProcess hub(settings);
  hub.start();
  const auto status = proc_status(hub.pid());
  CHECK(status.at("Uid") == repeated("0"));
  check_without_capabilities(status);
}

TEST_CASE("hub system: an unknown --user stops the hub at start, naming the user") {
  enter_test_netns();
  HubSettings settings;
  settings.extra_args = {"--user", "advpnd-no-such-user"};
  HubProcess hub(settings);
  const CommandResult run = run_advpnd({"hub", "--config", hub.config_path(), "--user", "advpnd-no-such-user"});
  CHECK(run.exit_code == 1);
  CHECK_MESSAGE(run.err.find("cannot drop privileges: --user advpnd-no-such-user: no such user") != std::string::npos,
                run.err);
  CHECK_FALSE(std::filesystem::exists(hub.socket_path()));
}

TEST_CASE("hub system: sd_notify READY=1 once it answers, WATCHDOG=1 at half WATCHDOG_USEC, STOPPING=1") {
  enter_test_netns();
  db::test::TempDir work;
  NotifySocket notify(work.file("notify"));
  HubSettings settings;
  settings.extra_args = {"--user", "root"};
  // 200 ms: pings every 100 ms.
  settings.environment = {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=200000"};
  HubProcess hub(settings);
  hub.start();

  const std::string ready = notify.receive(2s);
  CHECK_MESSAGE(ready.rfind("READY=1\nSTATUS=NHS 10.0.0.1 listening on 127.0.0.1", 0) == 0, ready);
  // The pings come from the event loop for as long as it runs: count them
  // over one second (10 expected; a loaded machine may delay a few).
  int pings = 0;
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    const std::string message = notify.receive(300ms);
    if (message == "WATCHDOG=1") ++pings;
  }
  CHECK_MESSAGE(pings >= 5, pings << " WATCHDOG=1 in 1 s");
  CHECK_MESSAGE(pings <= 12, pings << " WATCHDOG=1 in 1 s");

  CHECK(WEXITSTATUS(hub.terminate()) == 0);
  std::string last;
  for (std::string message = notify.receive(500ms); !message.empty(); message = notify.receive(500ms)) last = message;
  CHECK(last == "STOPPING=1");
}

TEST_CASE("hub system: under journald ($JOURNAL_STREAM is stderr) lines carry <N> syslog priorities") {
  enter_test_netns();
  HubSettings settings;
  settings.extra_args = {"--user", "root"};
  HubProcess hub(settings);
  std::ofstream(hub.log_path()).close();
  struct stat log_file {};
  REQUIRE(::stat(hub.log_path().c_str(), &log_file) == 0);
  hub.add_environment("JOURNAL_STREAM=" + std::to_string(log_file.st_dev) + ":" + std::to_string(log_file.st_ino));
  hub.start();
  CHECK(WEXITSTATUS(hub.terminate()) == 0);
  const std::string log = hub.log();
  CHECK_MESSAGE(log.find("<6>hub: NHS 10.0.0.1 listening on 127.0.0.1") != std::string::npos, log);
  CHECK(log.find("<6>hub: stopped") != std::string::npos);
  for (const std::string& line : split_lines(log)) CHECK_MESSAGE(line.rfind('<', 0) == 0, line);

  // An error is priority 3; a JOURNAL_STREAM that is not this stderr (merely
  // inherited) leaves the plain format with its timestamp.
  db::test::TempDir work;
  const std::string out = work.file("stderr");
  const CommandResult bad = run_command({"/bin/sh", "-c",
                                         "exec 2>" + out + "; JOURNAL_STREAM=$(stat -c %d:%i " + out + ") exec " +
                                             ADVPND_BIN + " hub --config " + work.file("missing.toml") + "; "});
  CHECK(bad.exit_code == 2);
  std::ifstream in(out);
  std::string first;
  std::getline(in, first);
  CHECK_MESSAGE(first.rfind("<3>hub: bad config: ", 0) == 0, first);
  const CommandResult plain = run_command(
      {"/bin/sh", "-c",
       "JOURNAL_STREAM=1:1 exec " + std::string(ADVPND_BIN) + " hub --config " + work.file("missing.toml")});
  CHECK(plain.exit_code == 2);
  CHECK_MESSAGE(plain.err.find(" error   hub: bad config: ") != std::string::npos, plain.err);
  CHECK(plain.err.rfind('<', 0) != 0);
}

}  // namespace advpnd::test
