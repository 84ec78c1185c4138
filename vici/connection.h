// One stream connection to charon's VICI socket (a unix socket), framed as
// the vici README "Transport protocol" says: 4-byte big-endian length +
// packet. Non-blocking throughout: connect, read and write never wait.
//
//  * Reading: the socket is watched on the event loop; whatever arrives is
//    buffered and split into frames (message.h decode_frame); each packet
//    goes to `on_packet`. A malformed frame closes the connection: the
//    stream has no way to resynchronise.
//  * Writing: send() appends the frame to an output buffer and writes what
//    the socket takes. platform::EventLoop offers no write-readiness watch,
//    so a socket buffer that is full (charon not reading) is retried on a
//    short timer; VICI requests are small, so this is the rare case.
//  * Closing: `on_closed(reason)` runs once, from the loop, never inside
//    send(); after it the connection is dead and the owner replaces it.
//
// Callbacks may destroy the Connection.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "platform/event_loop.h"
#include "platform/unique_fd.h"
#include "vici/message.h"

namespace advpnd::vici {

class Connection {
 public:
  struct Handlers {
    std::function<void(Packet)> on_packet;
    std::function<void(const std::string& reason)> on_closed;
  };

  // Connects now. Fails with the reason (no socket file, connection refused:
  // charon is not running) without calling any handler.
  static Result<std::unique_ptr<Connection>, std::string> open(platform::EventLoop& loop, const std::string& path,
                                                               Handlers handlers);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues one packet. An encoding error is returned; a write error closes
  // the connection (reported later through on_closed).
  Status<std::string> send(const Packet& packet);

  [[nodiscard]] bool closed() const { return closed_; }
  [[nodiscard]] std::size_t unsent_bytes() const { return out_.size() - out_sent_; }

 private:
  Connection(platform::EventLoop& loop, platform::UniqueFd fd, Handlers handlers);

  void on_readable();
  void flush();
  // Marks the connection dead and reports `reason` from a 0-delay timer.
  void close_later(std::string reason);

  platform::UniqueFd fd_;
  Handlers handlers_;
  std::unique_ptr<platform::FdWatch> watch_;
  std::unique_ptr<Timer> flush_timer_;
  std::unique_ptr<Timer> close_timer_;
  std::vector<std::byte> in_;
  std::vector<std::byte> out_;
  std::size_t out_sent_ = 0;
  bool closed_ = false;
  std::string close_reason_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace advpnd::vici
