#include "app/control_server.h"

#include <fcntl.h>
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
std::string frame_reply(const ControlReply& reply) { return std::string(reply.ok ? "ok\n" : "error\n") + reply.body; }

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

// The client side (advpnctl) blocks: its socket has SO_SNDTIMEO set.
void write_all_blocking(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// What a non-blocking socket takes now; -1 when the peer is gone.
ssize_t send_some(int fd, std::string_view data) {
  for (;;) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  }
}
}  // namespace

struct ControlServer::Client {
  platform::UniqueFd fd;
  std::string buffer;  // the command line as it arrives
  std::string output;  // the framed answer, from `sent` on still to go
  std::size_t sent = 0;
  std::unique_ptr<platform::FdWatch> watch;  // readable until the command is in, then writable
  std::unique_ptr<Timer> deadline;           // kIdleTimeout while reading, kStallTimeout while writing
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
  queued_bytes_ = 0;
  watch_.reset();
  ::unlink(path_.c_str());
}

void ControlServer::on_accept() {
  for (;;) {
    platform::UniqueFd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;  // EAGAIN: all accepted
    if (clients_.size() >= kMaxClients) {
      ++stats_.busy;
      (void)send_some(fd.get(), frame_reply({false, "busy: too many control clients\n"}));  // best effort
      continue;
    }
    auto client = std::make_unique<Client>();
    client->fd = std::move(fd);
    Client* raw = client.get();
    auto watch = loop_.watch_readable(raw->fd.get(), [this, raw] { on_client_readable(*raw); });
    if (!watch) continue;
    client->watch = std::move(watch).value();
    client->deadline = loop_.make_timer([this, raw] {
      if (!raw->output.empty()) {
        ++stats_.stalled;
        log::warning(kLog, "dropped a control client that took nothing of its answer for " +
                               std::to_string(kStallTimeout.count()) + " s (" +
                               std::to_string(raw->output.size() - raw->sent) + " bytes left)");
      }
      drop(*raw);
    });
    client->deadline->arm(kIdleTimeout);
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
    if (client.buffer.size() > kMaxCommand) answer(client, {false, "command longer than 4096 bytes\n"});
    return;
  }
  const std::string command = client.buffer.substr(0, newline);
  log::debug(kLog, "command: " + command);
  ++stats_.commands;
  answer(client, handler_(command));
}

// From here on the client is only written to: its answer is queued and sent
// as its socket drains; the loop goes on meanwhile.
void ControlServer::answer(Client& client, const ControlReply& reply) {
  client.output = frame_reply(reply);
  if (queued_bytes_ + client.output.size() > kMaxQueuedBytes) {
    ++stats_.busy;
    client.output = frame_reply({false, "busy: " + std::to_string(queued_bytes_) +
                                            " bytes of answers are waiting for other control clients\n"});
  }
  queued_bytes_ += client.output.size();
  client.watch.reset();       // nothing more is read from this client
  if (flush(client)) return;  // all of it went at once (the common case); `client` is gone
  auto watch = loop_.watch_writable(client.fd.get(), [this, raw = &client] { (void)flush(*raw); });
  if (!watch) {
    drop(client);
    return;
  }
  client.watch = std::move(watch).value();
  client.deadline->arm(kStallTimeout);
}

bool ControlServer::flush(Client& client) {
  const ssize_t n = send_some(client.fd.get(), std::string_view(client.output).substr(client.sent));
  if (n > 0) {
    client.sent += static_cast<std::size_t>(n);
    client.deadline->arm(kStallTimeout);  // progress: the stall clock starts again
  }
  // Finished, or the client went away (its answer goes with it).
  if (n < 0 || client.sent == client.output.size()) {
    drop(client);
    return true;
  }
  return false;
}

void ControlServer::drop(Client& client) {
  // Safe from the client's own callbacks: the event loop's trampolines keep
  // the running callback alive while it runs (platform/event_loop.cpp).
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const auto& c) { return c.get() == &client; });
  if (it == clients_.end()) return;
  queued_bytes_ -= client.output.size();
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
  const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line(command);
  line += '\n';
  write_all_blocking(fd.get(), line);
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
