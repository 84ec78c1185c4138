// The control socket behind advpnctl: a unix stream socket, mode 0600 (root
// only). A client writes one command line ("show registrations --json\n"),
// the daemon writes the answer and closes. Answers are rendered in the
// daemon (human table or JSON), so advpnctl stays a thin client.
//
// Bounded: at most kMaxClients connections at once, a command line of at
// most kMaxCommand bytes, and a client that says nothing for kIdleTimeout
// is dropped.
//
// The event loop never waits on a client (issue #10: a synchronous write
// with poll() stalled the hub for a second per slow reader). An answer is
// queued and sent as the client's socket drains (a writable watch); a
// client that takes nothing for kStallTimeout is dropped, and answers
// queued for all clients together are capped at kMaxQueuedBytes (beyond,
// the new command is answered "busy"). Both are counted (stats()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "platform/event_loop.h"
#include "platform/unique_fd.h"

namespace advpnd::app {

struct ControlReply {
  bool ok = true;
  std::string body;  // printed by advpnctl as is; exit status 1 when !ok
};

class ControlServer {
 public:
  static constexpr std::size_t kMaxClients = 16;
  static constexpr std::size_t kMaxCommand = 4096;
  static constexpr std::chrono::seconds kIdleTimeout{5};
  static constexpr std::chrono::seconds kStallTimeout{10};
  static constexpr std::size_t kMaxQueuedBytes = 64U << 20U;

  struct Stats {
    std::uint64_t commands = 0;
    std::uint64_t busy = 0;     // refused: too many clients or too much queued
    std::uint64_t stalled = 0;  // dropped: took nothing of its answer for kStallTimeout
  };

  using Handler = std::function<ControlReply(std::string_view command)>;

  // Binds `path` (a stale socket file there is replaced), mode 0600.
  static Result<std::unique_ptr<ControlServer>, std::string> open(platform::EventLoop& loop, const std::string& path,
                                                                  Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  [[nodiscard]] const Stats& stats() const { return stats_; }
  [[nodiscard]] std::size_t queued_bytes() const { return queued_bytes_; }

 private:
  struct Client;
  ControlServer(platform::EventLoop& loop, std::string path, Handler handler, platform::UniqueFd fd);
  void on_accept();
  void on_client_readable(Client& client);
  void answer(Client& client, const ControlReply& reply);
  // Sends what the client's socket takes now; true when the client is
  // finished (all sent, or gone) and has been dropped.
  [[nodiscard]] bool flush(Client& client);
  void drop(Client& client);

  platform::EventLoop& loop_;
  std::string path_;
  Handler handler_;
  platform::UniqueFd fd_;
  std::unique_ptr<platform::FdWatch> watch_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::size_t queued_bytes_ = 0;  // answers not yet taken by their clients
  Stats stats_;
};

// Client side (advpnctl): sends `command`, returns the daemon's answer.
[[nodiscard]] Result<ControlReply, std::string> control_request(const std::string& path, std::string_view command,
                                                                std::chrono::milliseconds timeout);

}  // namespace advpnd::app
