#include "tests/hub_system/hub_process.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/platform/private_netns.h"

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string toml_string(const std::string& value) { return "\"" + value + "\""; }

}  // namespace

void enter_test_netns() {
  const NetnsResult netns = enter_fresh_private_netns();
  REQUIRE_MESSAGE(netns.ok, netns.message);
  if (!netns.isolated) MESSAGE(netns.message);
}

HubProcess::HubProcess(HubSettings settings)
    : config_path_(dir_.file("hub.toml")),
      socket_path_(settings.control_socket.empty() ? dir_.file("hub.sock") : settings.control_socket),
      database_path_(settings.database.empty() ? dir_.file("hub.db") : settings.database),
      log_path_(dir_.file("hub.log")),
      extra_args_(std::move(settings.extra_args)),
      environment_(std::move(settings.environment)),
      role_(settings.role) {
  write_config(config_text(settings));
}

HubProcess::~HubProcess() { kill_hard(); }

std::string HubProcess::config_text(const HubSettings& settings) const {
  std::string text;
  text += "[hub]\n";
  text += "nbma_address = " + toml_string(kHubNbma.to_string()) + "\n";
  text += "protocol_address = " + toml_string(kHubProtocol.to_string()) + "\n";
  text += "database = " + toml_string(database_path_) + "\n";
  text += "control_socket = " + toml_string(socket_path_) + "\n";
  text += "log_level = " + toml_string(settings.log_level) + "\n";
  // The simulated spokes of the tests and storms live anywhere in 10.0.0.0/8:
  // that is the overlay subnet their registrations must lie in (issue #12).
  text += "overlay_prefix_length = 8\n";
  if (settings.metrics_listen) text += "metrics_listen = " + toml_string(*settings.metrics_listen) + "\n";
  text += "\n[registration]\n";
  text += "max_holding_time = 7200\n";
  text += "rate_per_second = " + std::to_string(settings.rate_per_second) + "\n";
  text += "rate_burst = " + std::to_string(settings.rate_burst) + "\n";
  if (settings.password) text += "\n[authentication]\npassword = " + toml_string(*settings.password) + "\n";
  // The simulated spokes speak clear GRE and there is no charon (issue #12
  // part 2: the default, "strongswan", would drop all of it).
  text += "\n[ipsec]\nprovider = \"none\"\n";
  return text;
}

void HubProcess::write_config(const std::string& text) const {
  std::ofstream out(config_path_, std::ios::trunc);
  out << text;
  out.close();
  REQUIRE_MESSAGE(out.good(), "cannot write " << config_path_);
}

void HubProcess::start() {
  REQUIRE_MESSAGE(pid_ < 0, "the hub is already running");
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls until exec.
  const std::string binary = ADVPND_BIN;
  std::vector<std::string> args{binary, role_, "--config", config_path_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> added = environment_;
  std::vector<char*> envp;
  for (char** variable = environ; *variable != nullptr; ++variable) envp.push_back(*variable);
  for (std::string& variable : added) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE_MESSAGE(log_fd >= 0, "cannot open " << log_path_);
  const pid_t parent = ::getpid();

  const pid_t child = ::fork();
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the test died between fork and prctl
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  REQUIRE_MESSAGE(child > 0, "fork failed");
  pid_ = child;

  const auto deadline = SteadyClock::now() + kStartTimeout;
  for (;;) {
    if (!alive()) FAIL("advpnd hub exited during start-up; its log:\n" << log());
    const CommandResult answer = ctl({"--timeout-ms", "1000", "show", "stats"});
    if (answer.exit_code == 0) return;
    if (SteadyClock::now() > deadline) {
      FAIL("advpnd hub did not answer on " << socket_path_ << " within " << kStartTimeout.count() << " s; its log:\n"
                                           << log());
    }
    std::this_thread::sleep_for(20ms);
  }
}

void HubProcess::kill_hard() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

int HubProcess::terminate() {
  REQUIRE_MESSAGE(pid_ > 0, "the hub is not running");
  ::kill(pid_, SIGTERM);
  const auto deadline = SteadyClock::now() + kExitTimeout;
  for (;;) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) {
      pid_ = -1;
      return status;
    }
    if (SteadyClock::now() > deadline)
      FAIL("advpnd hub did not exit within " << kExitTimeout.count() << " s of SIGTERM");
    std::this_thread::sleep_for(10ms);
  }
}

void HubProcess::send_signal(int signo) const {
  REQUIRE_MESSAGE(pid_ > 0, "the hub is not running");
  REQUIRE(::kill(pid_, signo) == 0);
}

bool HubProcess::alive() {
  if (pid_ < 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string HubProcess::log() const { return read_file(log_path_); }

bool HubProcess::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
  const auto deadline = SteadyClock::now() + timeout;
  while (log().find(text) == std::string::npos) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

CommandResult HubProcess::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{ADVPNCTL_BIN, "-s", socket_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

JsonValue HubProcess::registrations() const {
  const CommandResult answer = ctl({"show", "registrations", "--json"});
  REQUIRE_MESSAGE(answer.exit_code == 0, answer.err);
  return parse_json(answer.out);
}

JsonValue HubProcess::stats() const {
  const CommandResult answer = ctl({"show", "stats", "--json"});
  REQUIRE_MESSAGE(answer.exit_code == 0, answer.err);
  return parse_json(answer.out);
}

CommandResult run_advpnd(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ADVPND_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

const JsonValue* find_registration(const JsonValue& registrations, const IpAddress& protocol) {
  for (const JsonValue& entry : registrations["registrations"].items()) {
    if (entry["protocol"].as_string() == protocol.to_string()) return &entry;
  }
  return nullptr;
}

std::int64_t error_count(const JsonValue& stats, const std::string& reason) {
  const JsonValue& errors = stats["errors"];
  return errors.has(reason) ? errors[reason].as_int() : 0;
}

namespace {
std::int64_t packet_counter(const JsonValue& stats, const std::string& type, const std::string& field) {
  for (const JsonValue& entry : stats["packets"].items()) {
    if (entry["type"].as_string() == type) return entry[field].as_int();
  }
  FAIL("no packet type \"" << type << "\" in show stats");
  return 0;
}
}  // namespace

std::int64_t packets_sent(const JsonValue& stats, const std::string& type) {
  return packet_counter(stats, type, "sent");
}
std::int64_t packets_received(const JsonValue& stats, const std::string& type) {
  return packet_counter(stats, type, "received");
}

std::size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (const std::string& line : split_lines(text)) count += line.find(needle) != std::string::npos ? 1 : 0;
  return count;
}

}  // namespace advpnd::test
