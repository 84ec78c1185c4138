// The real hub daemon (`advpnd hub`) as a child process of a system test:
// its own temp directory (config, log, control socket, SQLite file unless
// the test puts that elsewhere), start / SIGKILL / SIGTERM / restart, and
// queries through the real `advpnctl`. The child's stdout and stderr go to
// the log file (appended across restarts), so tests can read what it logged.
//
// The destructor always kills (SIGKILL) and reaps a child still running, so
// a failed REQUIRE never leaves a daemon behind; the child also gets SIGKILL
// if the test process dies (PR_SET_PDEATHSIG).
//
// enter_test_netns() moves the test process into a fresh network namespace
// (loopback only): the hub binds 127.0.0.1, the simulated spokes use other
// 127.x.y.z sources (spoke_sim.h). Needs root: fails, never skips, without it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "tests/app/json_reader.h"
#include "tests/app/subprocess.h"
#include "tests/db/db_test_support.h"

namespace advpnd::test {

// The hub every system test talks to (NHRP-WIRE.md addresses on loopback).
inline const IpAddress kHubNbma = IpAddress::v4(127, 0, 0, 1);
inline const IpAddress kHubProtocol = IpAddress::v4(10, 0, 0, 1);

// Bounded waits, generous for the ASan build (the daemon is slower there).
inline constexpr std::chrono::seconds kStartTimeout{20};
inline constexpr std::chrono::seconds kExitTimeout{10};
inline constexpr std::chrono::milliseconds kReplyTimeout{3000};

// REQUIREs root and a fresh network namespace (a message if unshare was
// refused and the test runs on the host loopback).
void enter_test_netns();

// What a test may change in the generated config (deploy/hub.toml keys).
struct HubSettings {
  std::string log_level = "info";
  std::optional<std::string> password;
  double rate_per_second = 1000;  // per NBMA source; tests send bursts
  double rate_burst = 1000;
  std::string database;        // empty: hub.db in the hub's temp directory
  std::string control_socket;  // empty: hub.sock in the hub's temp directory
  // After `ROLE --config FILE`. Root by default, so that a machine where the
  // package created the advpnd user (the daemon's default) runs these tests
  // the same way; privileges_test.cpp sets its own.
  std::vector<std::string> extra_args{"--user", "root"};
  std::vector<std::string> environment;       // "KEY=value" added to the child's environment
  std::optional<std::string> metrics_listen;  // [hub] metrics_listen, e.g. "127.0.0.1:9477"
  // "spoke": start() runs `advpnd spoke` instead, with the config the test
  // writes (write_config; control_socket = socket_path()).
  std::string role = "hub";
};

class HubProcess {
 public:
  explicit HubProcess(HubSettings settings = {});
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;
  ~HubProcess();

  // The config these settings give (what the constructor writes).
  [[nodiscard]] std::string config_text(const HubSettings& settings) const;
  void write_config(const std::string& text) const;

  // Starts `advpnd hub --config FILE` and waits until `advpnctl show stats`
  // answers (the event loop runs, signal handlers are in place). REQUIREs it.
  void start();
  // SIGKILL and reap; no-op when not running.
  void kill_hard();
  // SIGTERM; returns the raw wait status (REQUIREs an exit within kExitTimeout).
  int terminate();
  void send_signal(int signo) const;
  // True while the child has not exited (reaps it when it has).
  [[nodiscard]] bool alive();
  [[nodiscard]] pid_t pid() const { return pid_; }

  // Adds "KEY=value" to the environment of the next start().
  void add_environment(const std::string& variable) { environment_.push_back(variable); }

  [[nodiscard]] const std::string& config_path() const { return config_path_; }
  [[nodiscard]] const std::string& socket_path() const { return socket_path_; }
  [[nodiscard]] const std::string& database_path() const { return database_path_; }
  [[nodiscard]] const std::string& log_path() const { return log_path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return dir_.file(name); }
  [[nodiscard]] std::string log() const;
  // Waits until the log contains `text` (REQUIRE-free: false on timeout).
  [[nodiscard]] bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const;

  // `advpnctl -s SOCKET args...`.
  [[nodiscard]] CommandResult ctl(const std::vector<std::string>& args) const;
  // `show registrations --json` / `show stats --json`, parsed; REQUIRE exit 0.
  [[nodiscard]] JsonValue registrations() const;
  [[nodiscard]] JsonValue stats() const;

 private:
  db::test::TempDir dir_;
  std::string config_path_;
  std::string socket_path_;
  std::string database_path_;
  std::string log_path_;
  std::vector<std::string> extra_args_;
  std::vector<std::string> environment_;
  std::string role_;
  pid_t pid_ = -1;
};

// `advpnd ARGS...` (check, hub with a bad config: no root, no daemon left).
[[nodiscard]] CommandResult run_advpnd(const std::vector<std::string>& args);

// The registration of `protocol` in a `show registrations --json` answer.
[[nodiscard]] const JsonValue* find_registration(const JsonValue& registrations, const IpAddress& protocol);
// errors.<reason> of a `show stats --json` answer (0 when absent).
[[nodiscard]] std::int64_t error_count(const JsonValue& stats, const std::string& reason);
// packets[type].sent / .received of a `show stats --json` answer.
[[nodiscard]] std::int64_t packets_sent(const JsonValue& stats, const std::string& type);
[[nodiscard]] std::int64_t packets_received(const JsonValue& stats, const std::string& type);
// Lines of `text` that contain `needle`.
[[nodiscard]] std::size_t count_lines_with(const std::string& text, const std::string& needle);

}  // namespace advpnd::test
