#include "vici/connection.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace advpnd::vici {
namespace {

using namespace std::chrono_literals;

// Bytes read per system call, and calls per loop turn: at most 512 KiB per
// turn, so one busy connection cannot starve the rest of the loop (the
// watch is level-triggered: what is left is read on the next turn).
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerTurn = 8;
// Retry delay for a full socket buffer (no write watch on the loop).
constexpr Duration kFlushRetry = 2ms;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

Result<std::unique_ptr<Connection>, std::string> Connection::open(platform::EventLoop& loop, const std::string& path,
                                                                  Handlers handlers) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return fail("socket path '" + path + "' is empty or longer than " + std::to_string(sizeof(address.sun_path) - 1) +
                " bytes");
  }
  std::memcpy(address.sun_path, path.data(), path.size());

  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(errno_text("socket"));
  // A unix stream connect completes at once or fails at once; EAGAIN means
  // charon's listen backlog is full, which we treat like any other failure
  // (the caller retries with backoff).
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockaddr API
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return fail(errno_text(("connect " + path).c_str()));
  }
  auto connection = std::unique_ptr<Connection>(new Connection(loop, std::move(fd), std::move(handlers)));
  auto watch = loop.watch_readable(connection->fd_.get(), [raw = connection.get()] { raw->on_readable(); });
  if (!watch) return fail(watch.error());
  connection->watch_ = std::move(watch).value();
  return connection;
}

Connection::Connection(platform::EventLoop& loop, platform::UniqueFd fd, Handlers handlers)
    : fd_(std::move(fd)),
      handlers_(std::move(handlers)),
      flush_timer_(loop.make_timer([this] { flush(); })),
      close_timer_(loop.make_timer([this] {
        // Last act: the handler may destroy this object.
        auto on_closed = handlers_.on_closed;
        const std::string reason = close_reason_;
        if (on_closed) on_closed(reason);
      })) {}

Connection::~Connection() = default;

Status<std::string> Connection::send(const Packet& packet) {
  if (closed_) return fail("connection closed: " + close_reason_);
  auto frame = encode_frame(packet);
  if (!frame) return fail("cannot encode " + std::string(to_string(packet.type)) + " '" + packet.name +
                          "': " + frame.error().message());
  // Drop what was sent already before growing the buffer.
  if (out_sent_ > 0) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_sent_));
    out_sent_ = 0;
  }
  out_.insert(out_.end(), frame->begin(), frame->end());
  flush();
  return {};
}

void Connection::flush() {
  while (!closed_ && out_sent_ < out_.size()) {
    const ssize_t n = ::send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!flush_timer_->armed()) flush_timer_->arm(kFlushRetry);
      return;
    }
    close_later(errno_text("send"));
    return;
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
}

void Connection::on_readable() {
  if (closed_) return;
  for (int i = 0; i < kReadsPerTurn; ++i) {
    const std::size_t old_size = in_.size();
    in_.resize(old_size + kReadChunk);
    const ssize_t n = ::recv(fd_.get(), in_.data() + old_size, kReadChunk, MSG_DONTWAIT);
    in_.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n > 0) {
      if (static_cast<std::size_t>(n) < kReadChunk) break;
      continue;
    }
    if (n == 0) {
      close_later("charon closed the connection");
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close_later(errno_text("recv"));
    break;
  }

  // Complete frames go out in order, even those received just before EOF.
  std::weak_ptr<int> alive = alive_;
  std::size_t consumed = 0;
  while (true) {
    auto frame = decode_frame(std::span<const std::byte>(in_).subspan(consumed));
    if (!frame) {
      close_later("malformed frame from charon: " + frame.error().message());
      in_.clear();
      return;
    }
    if (!frame->has_value()) break;
    consumed += (*frame)->size;
    if (handlers_.on_packet) {
      auto on_packet = handlers_.on_packet;  // the handler may destroy this object
      on_packet(std::move((*frame)->packet));
      if (alive.expired()) return;
    }
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(consumed));
}

void Connection::close_later(std::string reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
  watch_.reset();
  flush_timer_->cancel();
  close_timer_->arm(Duration::zero());
}

}  // namespace advpnd::vici
