// An asynchronous VICI client on the event loop: one connection to charon,
// kept open and re-opened with backoff when charon goes away or restarts.
//
// The protocol (strongSwan vici README, "Commands", "Events"):
//  * "There is no sequence number to associate responses to requests, so
//    only one command can be active at a time on a single connection": the
//    client keeps a FIFO of requests and sends the next only when the
//    previous one is answered. EVENT_REGISTER/UNREGISTER are requests too
//    (answered by EVENT_CONFIRM or EVENT_UNKNOWN) and share the queue.
//  * Streaming commands (list-sas, list-conns) answer with a series of
//    events (list-sa, list-conn) before their CMD_RESPONSE; the client must
//    be registered for that event first. stream() registers it once per
//    connection (charon sends such events only to the connection whose
//    command is active, so the registration can stay) and hands the events
//    to the command's own handler.
//  * "Events may get raised at any time while registered, even during an
//    active request command": subscriptions (ike-updown, child-updown) live
//    on the same connection and are re-registered after every reconnect.
//
// Failures are values (Error): while disconnected a command fails at once
// with NotConnected; a lost connection fails what was queued with
// ConnectionLost; a command not answered within its timeout fails with
// Timeout, and since a late answer could no longer be told apart from the
// next command's, the connection is then closed and re-opened at once (the
// requests not yet sent move to the new connection).
//
// Handlers run on the loop, never inside command()/stream()/start(). Any
// handler may destroy the Client; pending handlers of a destroyed Client
// are dropped without being called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/result.h"
#include "platform/event_loop.h"
#include "vici/message.h"

namespace advpnd::vici {

class Connection;

inline constexpr std::string_view kDefaultSocketPath = "/var/run/charon.vici";

struct ClientOptions {
  std::string socket_path{kDefaultSocketPath};
  std::string name = "client";  // names this client in log lines ("vici: control: ...")
  Duration command_timeout = std::chrono::seconds(10);
  Duration reconnect_initial = std::chrono::milliseconds(100);
  Duration reconnect_max = std::chrono::seconds(5);
};

enum class ErrorKind : std::uint8_t {
  NotConnected,    // charon's socket is not connected (not running, restarting)
  ConnectionLost,  // the connection closed while the request was queued or sent
  Timeout,         // no answer within the command's timeout
  UnknownCommand,  // CMD_UNKNOWN: charon has no such command
  UnknownEvent,    // EVENT_UNKNOWN: charon has no such event
  Protocol,        // an answer that does not fit the request, or an encoding error
};
[[nodiscard]] std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::NotConnected;
  std::string message;
};

using Response = Result<Message, Error>;
using ResponseHandler = std::function<void(Response)>;
using EventHandler = std::function<void(const Message&)>;
// connected == true after each (re)connect; false with the reason when it closes.
using StateHandler = std::function<void(bool connected, const std::string& reason)>;

class Client;

// Receives one named event while it lives; destroying it unsubscribes.
// Safe to destroy after its Client.
class Subscription {
 public:
  Subscription() = default;
  ~Subscription() { reset(); }
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  void reset();

 private:
  friend class Client;
  struct Registry;
  Subscription(std::weak_ptr<Registry> registry, std::uint64_t id) : registry_(std::move(registry)), id_(id) {}
  std::weak_ptr<Registry> registry_;
  std::uint64_t id_ = 0;
};

class Client {
 public:
  Client(platform::EventLoop& loop, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects now (so commands may follow at once) and keeps reconnecting.
  // The state handler hears about this first connect from the loop.
  void start();
  void set_state_handler(StateHandler handler) { state_handler_ = std::move(handler); }
  // While disconnected: tries now instead of waiting out the backoff (another
  // connection to the same charon just succeeded). May run the state handler.
  void reconnect_now();

  // `timeout` zero: ClientOptions::command_timeout.
  void command(std::string name, Message request, ResponseHandler done, Duration timeout = Duration::zero());
  // A streaming command: `on_event` receives each `event` raised before the response.
  void stream(std::string name, Message request, std::string event, EventHandler on_event, ResponseHandler done,
              Duration timeout = Duration::zero());
  [[nodiscard]] Subscription subscribe(std::string event, EventHandler handler);

  [[nodiscard]] bool connected() const { return connection_ != nullptr; }
  // Requests queued or in flight.
  [[nodiscard]] std::size_t pending() const { return queue_.size(); }
  [[nodiscard]] const ClientOptions& options() const { return options_; }

 private:
  friend class Subscription;
  enum class RequestKind : std::uint8_t { Command, Register, Unregister };
  struct Request {
    RequestKind kind = RequestKind::Command;
    std::string name;
    Message message;
    std::string stream_event;
    EventHandler on_event;
    ResponseHandler done;
    Duration timeout{};
  };

  void enqueue(Request request);
  void pump();
  void connect_now(bool from_start);
  void on_packet(Packet packet);
  void on_closed(const std::string& reason);
  void on_timeout();
  void lose_connection(const std::string& reason, ErrorKind kind);
  void complete_head(Response response);
  void dispatch_event(const Packet& packet);
  // Closes the connection; queued requests fail with `kind` (or, when
  // `keep_unsent`, the ones not yet sent stay for the next connection).
  void drop_connection(const std::string& reason, ErrorKind kind, bool keep_unsent, bool notify);
  void ensure_registered(const std::string& event);
  void unsubscribed(const std::string& event);
  void notify_state(bool up, const std::string& reason);
  void defer(std::function<void()> task);
  void run_deferred();
  void log_line(bool warning, const std::string& text) const;

  platform::EventLoop& loop_;
  ClientOptions options_;
  std::unique_ptr<Connection> connection_;
  std::deque<Request> queue_;
  bool in_flight_ = false;            // queue_.front() has been sent
  std::set<std::string> registered_;  // events registered (or being) on this connection
  std::shared_ptr<Subscription::Registry> registry_;
  StateHandler state_handler_;
  Backoff reconnect_backoff_;
  bool started_ = false;
  std::string last_failure_;  // logged once per streak of failed connects
  std::unique_ptr<Timer> reconnect_timer_;
  std::unique_ptr<Timer> request_timer_;
  std::unique_ptr<Timer> defer_timer_;
  std::deque<std::function<void()>> deferred_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace advpnd::vici
