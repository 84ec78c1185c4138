#include "tests/vici/charon_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "advpnd-vici-";
constexpr const char* kCharon = "/usr/lib/ipsec/charon";
// The notes' plugin list: kernel-libipsec before kernel-netlink so that it provides the SAs.
constexpr const char* kPlugins =
    "random nonce openssl aes sha1 sha2 hmac kdf pem pkcs1 x509 pubkey gmp kernel-libipsec kernel-netlink "
    "socket-default vici";

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Runs a command to completion; its output goes into the error on failure.
Status<std::string> run(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(errno_text("pipe"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: exec's API
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[512];
  ssize_t n = 0;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) output.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  std::string line;
  for (const auto& arg : args) line += (line.empty() ? "" : " ") + arg;
  if (spawned != 0) return fail(line + ": spawn failed: " + std::strerror(spawned));
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail(line + " failed: " + output);
  return {};
}

// A zombie (a crashed test its parent has not reaped yet) counts as gone.
bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');  // the state follows "pid (comm) "
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

// Namespaces and temp dirs named after test processes that are gone.
void sweep_stale() {
  std::error_code ec;
  for (const auto& dir : {fs::path("/run/netns"), fs::temp_directory_path()}) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(kPrefix, 0) != 0) continue;
      const pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + kPrefix.size()));
      if (owner <= 0 || process_alive(owner)) continue;
      if (dir == fs::path("/run/netns")) {
        (void)run({"ip", "netns", "del", name});
      } else {
        fs::remove_all(entry.path(), ec);
      }
    }
  }
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

std::string strongswan_conf(const CharonHost& host) {
  std::ostringstream conf;
  conf << "charon {\n"
       << "  load_modular = no\n"
       << "  load = " << kPlugins << "\n"
       << "  plugins {\n"
       << "    vici { socket = unix://" << host.socket << " }\n"
       << "    kernel-libipsec { allow_peer_ts = yes }\n"
       << "    kernel-netlink { fwmark = 0x47 }\n"
       << "  }\n"
       << "  filelog {\n"
       << "    lab { path = " << host.dir << "/charon.log\n"
       << "      time_format = %H:%M:%S\n"
       << "      default = 1\n"
       << "    }\n"
       << "  }\n"
       << "}\n";
  return conf.str();
}

bool socket_accepts(const std::string& path) {
  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockaddr API
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

Status<std::string> require_root() {
  if (::geteuid() != 0) {
    return fail(std::string("the charon tests need root (network namespaces, bind mounts, raw GRE sockets): run "
                            "them as root, as CI does"));
  }
  return {};
}

Result<std::unique_ptr<CharonLab>, std::string> CharonLab::create() {
  if (auto root = require_root(); !root) return fail(root.error());
  if (::access(kCharon, X_OK) != 0) return fail(std::string(kCharon) + " not found: install strongswan-charon");
  sweep_stale();
  auto lab = std::unique_ptr<CharonLab>(new CharonLab());
  if (auto built = lab->build(); !built) return fail(built.error());
  return lab;
}

Status<std::string> CharonLab::build() {
  static std::atomic<unsigned> counter{0};
  const std::string id = std::string(kPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  root_ = (fs::temp_directory_path() / id).string();
  a_ = CharonHost{"a", id + "-a", root_ + "/a", root_ + "/a/charon.vici", IpAddress::v4(192, 0, 2, 1), -1};
  b_ = CharonHost{"b", id + "-b", root_ + "/b", root_ + "/b/charon.vici", IpAddress::v4(192, 0, 2, 2), -1};
  std::error_code ec;
  for (auto* host : {&a_, &b_}) {
    fs::create_directories(host->dir + "/run", ec);
    if (ec) return fail("mkdir " + host->dir + ": " + ec.message());
    if (!write_text(host->dir + "/strongswan.conf", strongswan_conf(*host)))
      return fail("cannot write strongswan.conf");
  }
  if (auto s = run({"ip", "netns", "add", a_.netns}); !s) return s;
  namespaces_made_ = true;
  if (auto s = run({"ip", "netns", "add", b_.netns}); !s) return s;
  if (auto s = run({"ip", "link", "add", "va", "netns", a_.netns, "type", "veth", "peer", "name", "vb", "netns",
                    b_.netns});
      !s) {
    return s;
  }
  for (auto* host : {&a_, &b_}) {
    const std::string dev = host == &a_ ? "va" : "vb";
    const std::vector<std::vector<std::string>> steps = {
        {"ip", "-n", host->netns, "link", "set", "lo", "up"},
        {"ip", "-n", host->netns, "addr", "add", host->address.to_string() + "/24", "dev", dev},
        {"ip", "-n", host->netns, "link", "set", dev, "up"},
        // GRE alone into libipsec's table 220; GRE without an SA fails closed.
        {"ip", "-n", host->netns, "rule", "add", "pref", "210", "ipproto", "gre", "lookup", "220"},
        {"ip", "-n", host->netns, "route", "add", "unreachable", "default", "table", "220"},
    };
    for (const auto& step : steps) {
      if (auto s = run(step); !s) return s;
    }
  }
  if (auto s = start_charon(a_); !s) return s;
  return start_charon(b_);
}

CharonLab::~CharonLab() {
  stop_charon(a_, SIGTERM);
  stop_charon(b_, SIGTERM);
  if (namespaces_made_) {
    (void)run({"ip", "netns", "del", a_.netns});
    (void)run({"ip", "netns", "del", b_.netns});
  }
  std::error_code ec;
  if (!root_.empty()) fs::remove_all(root_, ec);
}

Status<std::string> CharonLab::start_charon(CharonHost& host) {
  if (host.pid > 0) return {};
  // After a SIGKILL the pid file stays, and charon 5.9.8 then refuses to
  // start ("charon already running"); the socket file stays too.
  ::unlink((host.dir + "/run/charon.pid").c_str());
  ::unlink(host.socket.c_str());
  const std::string script = "mount --bind " + host.dir + "/run /run && STRONGSWAN_CONF=" + host.dir +
                             "/strongswan.conf exec " + kCharon;
  const std::string out_path = host.dir + "/charon.out";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return fail(errno_text("fork"));
  if (pid == 0) {
    // Dies with the test process, even one that crashed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execlp("ip", "ip", "netns", "exec", host.netns.c_str(), "sh", "-c", script.c_str(), nullptr);
    ::_exit(127);
  }
  host.pid = pid;  // `ip netns exec` and sh exec in place: this is charon's pid
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      host.pid = -1;
      return fail("charon on " + host.name + " exited at start: " + log_tail(host, 10));
    }
    if (socket_accepts(host.socket)) return {};
    std::this_thread::sleep_for(10ms);
  }
  stop_charon(host, SIGKILL);
  return fail("charon on " + host.name + " did not open " + host.socket + " within 5 s");
}

void CharonLab::stop_charon(CharonHost& host, int signo) {
  if (host.pid <= 0) return;
  ::kill(host.pid, signo);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  int status = 0;
  while (::waitpid(host.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(host.pid, SIGKILL);
      ::waitpid(host.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  host.pid = -1;
}

Result<platform::UniqueFd, std::string> CharonLab::raw_gre_socket(const CharonHost& host) const {
  platform::UniqueFd own(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  platform::UniqueFd target(::open(("/run/netns/" + host.netns).c_str(), O_RDONLY | O_CLOEXEC));
  if (!own.valid() || !target.valid()) return fail(errno_text("open netns " + host.netns));
  if (::setns(target.get(), CLONE_NEWNET) != 0) return fail(errno_text("setns " + host.netns));
  platform::UniqueFd fd(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_GRE));
  const int saved_errno = errno;
  if (::setns(own.get(), CLONE_NEWNET) != 0) return fail(errno_text("setns back"));
  if (!fd.valid()) {
    errno = saved_errno;
    return fail(errno_text("raw GRE socket"));
  }
  return fd;
}

Status<std::string> CharonLab::send_gre(const CharonHost& from, const IpAddress& to, int count,
                                        std::size_t payload_size) const {
  auto fd = raw_gre_socket(from);
  if (!fd) return fail(fd.error());
  // GRE header (RFC 2784): no flags, version 0, protocol 0x2001 (NHRP), then filler.
  std::vector<std::uint8_t> packet{0x00, 0x00, 0x20, 0x01};
  packet.resize(4 + payload_size, 0xab);
  sockaddr_in destination{};
  destination.sin_family = AF_INET;
  destination.sin_addr.s_addr = htonl(to.v4_value());
  for (int i = 0; i < count; ++i) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockaddr API
    if (::sendto(fd->get(), packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&destination),
                 sizeof destination) < 0) {
      return fail(errno_text("sendto " + to.to_string()));
    }
  }
  return {};
}

std::string CharonLab::log_tail(const CharonHost& host, std::size_t lines) const {
  std::deque<std::string> tail;
  for (const auto* file : {"/charon.out", "/charon.log"}) {
    std::ifstream in(host.dir + file);
    std::string line;
    while (std::getline(in, line)) {
      tail.push_back(line);
      if (tail.size() > lines) tail.pop_front();
    }
  }
  std::string text;
  for (const auto& line : tail) text += line + "\n";
  return text;
}

}  // namespace advpnd::test
