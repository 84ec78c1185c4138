#include "app/control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "control";

// Wire form of an answer: "ok\n" or "error\n", then the body, then EOF.
std::string frame_reply(const ControlReply& reply) {
  return std::string(reply.ok ? "ok\n" : "error\n") + reply.body;
}

Result<sockaddr_un, std::string> socket_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return fail("control socket path \"" + path + "\" is empty or longer than " +
                std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return;  // a client that does not read loses its answer
      continue;
    }
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}
}  // namespace

struct ControlServer::Client {
  platform::UniqueFd fd;
  std::string buffer;
  std::unique_ptr<platform::FdWatch> watch;
  std::unique_ptr<Timer> idle;
};

Result<std::unique_ptr<ControlServer>, std::string> ControlServer::open(platform::EventLoop& loop,
                                                                        const std::string& path, Handler handler) {
  auto addr = socket_address(path);
  if (!addr) return fail(addr.error());
  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail("control socket: " + std::string(std::strerror(errno)));
  ::unlink(path.c_str());  // a stale socket from a previous run
  const mode_t old_mask = ::umask(0077);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);  // NOLINT
  ::umask(old_mask);
  if (bound != 0) return fail("control socket " + path + ": bind: " + std::strerror(errno));
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), static_cast<int>(kMaxClients)) != 0) {
    return fail("control socket " + path + ": listen: " + std::strerror(errno));
  }
  std::unique_ptr<ControlServer> server(new ControlServer(loop, path, std::move(handler), std::move(fd)));
  auto watch = loop.watch_readable(server->fd_.get(), [raw = server.get()] { raw->on_accept(); });
  if (!watch) return fail(watch.error());
  server->watch_ = std::move(watch).value();
  return server;
}

ControlServer::ControlServer(platform::EventLoop& loop, std::string path, Handler handler, platform::UniqueFd fd)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)), fd_(std::move(fd)) {}

ControlServer::~ControlServer() {
  clients_.clear();
  watch_.reset();
  ::unlink(path_.c_str());
}

void ControlServer::on_accept() {
  for (;;) {
    platform::UniqueFd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN: all accepted
    if (clients_.size() >= kMaxClients) {
      write_all(fd.get(), frame_reply({false, "busy: too many control clients\n"}));
      continue;
    }
    auto client = std::make_unique<Client>();
    client->fd = std::move(fd);
    Client* raw = client.get();
    auto watch = loop_.watch_readable(raw->fd.get(), [this, raw] { on_client_readable(*raw); });
    if (!watch) continue;
    client->watch = std::move(watch).value();
    client->idle = loop_.make_timer([this, raw] { drop(*raw); });
    client->idle->arm(kIdleTimeout);
    clients_.push_back(std::move(client));
  }
}

void ControlServer::on_client_readable(Client& client) {
  char chunk[512];
  const ssize_t n = ::recv(client.fd.get(), chunk, sizeof chunk, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop(client);
    return;
  }
  client.buffer.append(chunk, static_cast<std::size_t>(n));
  const auto newline = client.buffer.find('\n');
  if (newline == std::string::npos) {
    if (client.buffer.size() > kMaxCommand) {
      write_all(client.fd.get(), frame_reply({false, "command longer than 4096 bytes\n"}));
      drop(client);
    }
    return;
  }
  const std::string command = client.buffer.substr(0, newline);
  log::debug(kLog, "command: " + command);
  write_all(client.fd.get(), frame_reply(handler_(command)));
  drop(client);
}

void ControlServer::drop(Client& client) {
  // Safe from the client's own callbacks: the event loop's trampolines keep
  // the running callback alive while it runs (platform/event_loop.cpp).
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const auto& c) { return c.get() == &client; });
  if (it == clients_.end()) return;
  clients_.erase(it);
}

Result<ControlReply, std::string> control_request(const std::string& path, std::string_view command,
                                                  std::chrono::milliseconds timeout) {
  auto addr = socket_address(path);
  if (!addr) return fail(addr.error());
  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {  // NOLINT
    return fail("cannot reach the daemon at " + path + ": " + std::strerror(errno));
  }
  const timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line(command);
  line += '\n';
  write_all(fd.get(), line);
  std::string answer;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("no answer from the daemon at " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  const auto newline = answer.find('\n');
  if (newline == std::string::npos) return fail("malformed answer from the daemon at " + path);
  const std::string status = answer.substr(0, newline);
  if (status != "ok" && status != "error") return fail("malformed answer from the daemon at " + path);
  return ControlReply{status == "ok", answer.substr(newline + 1)};
}

}  // namespace advpnd::app
