#include "vici/client.h"

#include <chrono>
#include <utility>
#include <vector>

#include "base/log.h"
#include "vici/connection.h"

namespace advpnd::vici {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotConnected: return "not connected";
    case ErrorKind::ConnectionLost: return "connection lost";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::UnknownCommand: return "unknown command";
    case ErrorKind::UnknownEvent: return "unknown event";
    case ErrorKind::Protocol: return "protocol error";
  }
  return "error";
}

// --- Subscription ------------------------------------------------------------

struct Subscription::Registry {
  Client* owner = nullptr;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, std::pair<std::string, EventHandler>> handlers;

  [[nodiscard]] bool has(const std::string& event) const {
    for (const auto& [id, entry] : handlers) {
      if (entry.first == event) return true;
    }
    return false;
  }
};

Subscription::Subscription(Subscription&& other) noexcept
    : registry_(std::move(other.registry_)), id_(std::exchange(other.id_, 0)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::move(other.registry_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void Subscription::reset() {
  auto registry = registry_.lock();
  registry_.reset();
  if (!registry) return;
  const auto it = registry->handlers.find(id_);
  if (it == registry->handlers.end()) return;
  const std::string event = it->second.first;
  registry->handlers.erase(it);
  if (registry->owner != nullptr && !registry->has(event)) registry->owner->unsubscribed(event);
}

// --- Client ------------------------------------------------------------------

namespace {

long long to_ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

}  // namespace

Client::Client(platform::EventLoop& loop, ClientOptions options)
    : loop_(loop),
      options_(std::move(options)),
      registry_(std::make_shared<Subscription::Registry>()),
      reconnect_backoff_(options_.reconnect_initial, options_.reconnect_max),
      reconnect_timer_(loop.make_timer([this] { connect_now(false); })),
      request_timer_(loop.make_timer([this] { on_timeout(); })),
      defer_timer_(loop.make_timer([this] { run_deferred(); })) {
  registry_->owner = this;
}

Client::~Client() { registry_->owner = nullptr; }

void Client::log_line(bool warning, const std::string& text) const {
  const std::string line = options_.name + ": " + text;
  if (warning) {
    log::warning("vici", line);
  } else {
    log::info("vici", line);
  }
}

void Client::start() {
  if (started_) return;
  started_ = true;
  connect_now(true);
}

void Client::reconnect_now() {
  if (!started_ || connection_ != nullptr) return;
  reconnect_timer_->cancel();
  connect_now(false);
}

void Client::connect_now(bool from_start) {
  if (connection_ != nullptr) return;
  auto opened = Connection::open(loop_, options_.socket_path,
                                 Connection::Handlers{[this](Packet packet) { on_packet(std::move(packet)); },
                                                      [this](const std::string& reason) { on_closed(reason); }});
  if (!opened) {
    const Duration delay = reconnect_backoff_.next();
    if (opened.error() != last_failure_) {
      log_line(true, "cannot reach charon (" + opened.error() + "); retrying, next in " + std::to_string(to_ms(delay)) +
                         " ms");
      last_failure_ = opened.error();
    } else {
      log::debug("vici", options_.name + ": reconnect failed again, next in " + std::to_string(to_ms(delay)) + " ms");
    }
    reconnect_timer_->arm(delay);
    if (from_start) defer([this, reason = opened.error()] { notify_state(false, reason); });
    // Requests kept from a connection reset after a timeout cannot wait.
    // (The callers tell the state handler; this may destroy this.)
    if (!queue_.empty()) drop_connection(opened.error(), ErrorKind::NotConnected, false, false);
    return;
  }
  connection_ = std::move(opened).value();
  reconnect_backoff_.reset();
  last_failure_.clear();
  registered_.clear();
  log_line(false, "connected to charon at " + options_.socket_path);
  // Subscriptions first: nothing is in flight on a fresh connection.
  std::set<std::string> events;
  for (const auto& [id, entry] : registry_->handlers) events.insert(entry.first);
  for (const auto& event : events) {
    Request request;
    request.kind = RequestKind::Register;
    request.name = event;
    request.timeout = options_.command_timeout;
    queue_.push_front(std::move(request));
    registered_.insert(event);
  }
  pump();
  if (from_start) {
    defer([this] { notify_state(true, {}); });
  } else {
    notify_state(true, {});  // last: the handler may destroy this
  }
}

void Client::notify_state(bool up, const std::string& reason) {
  if (state_handler_) {
    auto handler = state_handler_;
    handler(up, reason);
  }
}

void Client::command(std::string name, Message request, ResponseHandler done, Duration timeout) {
  Request r;
  r.kind = RequestKind::Command;
  r.name = std::move(name);
  r.message = std::move(request);
  r.done = std::move(done);
  r.timeout = timeout > Duration::zero() ? timeout : options_.command_timeout;
  enqueue(std::move(r));
}

void Client::stream(std::string name, Message request, std::string event, EventHandler on_event, ResponseHandler done,
                    Duration timeout) {
  Request r;
  r.kind = RequestKind::Command;
  r.name = std::move(name);
  r.message = std::move(request);
  r.stream_event = std::move(event);
  r.on_event = std::move(on_event);
  r.done = std::move(done);
  r.timeout = timeout > Duration::zero() ? timeout : options_.command_timeout;
  enqueue(std::move(r));
}

void Client::enqueue(Request request) {
  if (connection_ == nullptr || connection_->closed()) {
    const std::string why = last_failure_.empty() ? std::string("connection closing") : last_failure_;
    Error error{ErrorKind::NotConnected, "not connected to charon at " + options_.socket_path + " (" + why + ")"};
    if (request.done) {
      defer([done = std::move(request.done), error = std::move(error)]() mutable { done(fail(error)); });
    }
    return;
  }
  queue_.push_back(std::move(request));
  pump();
}

Subscription Client::subscribe(std::string event, EventHandler handler) {
  const std::uint64_t id = registry_->next_id++;
  registry_->handlers.emplace(id, std::make_pair(event, std::move(handler)));
  if (connection_ != nullptr && registered_.count(event) == 0) {
    registered_.insert(event);
    Request request;
    request.kind = RequestKind::Register;
    request.name = std::move(event);
    request.timeout = options_.command_timeout;
    queue_.push_back(std::move(request));
    pump();
  }
  return Subscription(registry_, id);
}

void Client::unsubscribed(const std::string& event) {
  if (connection_ == nullptr || registered_.count(event) == 0) return;
  registered_.erase(event);
  Request request;
  request.kind = RequestKind::Unregister;
  request.name = event;
  request.timeout = options_.command_timeout;
  queue_.push_back(std::move(request));
  pump();
}

void Client::pump() {
  while (connection_ != nullptr && !connection_->closed() && !in_flight_ && !queue_.empty()) {
    // A streaming command needs its event registered on this connection first.
    if (const auto& head = queue_.front();
        head.kind == RequestKind::Command && !head.stream_event.empty() && registered_.count(head.stream_event) == 0) {
      Request request;
      request.kind = RequestKind::Register;
      request.name = head.stream_event;
      request.timeout = options_.command_timeout;
      registered_.insert(request.name);
      queue_.push_front(std::move(request));
    }
    Request& head = queue_.front();
    Packet packet;
    packet.name = head.name;
    switch (head.kind) {
      case RequestKind::Command:
        packet.type = PacketType::CmdRequest;
        packet.message = std::move(head.message);  // never resent: a reset fails the request in flight
        break;
      case RequestKind::Register: packet.type = PacketType::EventRegister; break;
      case RequestKind::Unregister: packet.type = PacketType::EventUnregister; break;
    }
    if (auto sent = connection_->send(packet); !sent) {
      Request failed = std::move(queue_.front());
      queue_.pop_front();
      if (failed.done) {
        defer([done = std::move(failed.done), error = sent.error()]() mutable {
          done(fail(Error{ErrorKind::Protocol, error}));
        });
      }
      continue;
    }
    in_flight_ = true;
    request_timer_->arm(head.timeout);
  }
}

void Client::on_packet(Packet packet) {
  const bool head_is_command = in_flight_ && queue_.front().kind == RequestKind::Command;
  const bool head_is_event_request = in_flight_ && !head_is_command;
  switch (packet.type) {
    case PacketType::Event:
      dispatch_event(packet);
      return;
    case PacketType::CmdResponse:
      if (head_is_command) return complete_head(std::move(packet.message));
      break;
    case PacketType::CmdUnknown:
      if (head_is_command) {
        return complete_head(fail(Error{ErrorKind::UnknownCommand, "charon does not know the command '" +
                                                                         queue_.front().name + "'"}));
      }
      break;
    case PacketType::EventConfirm:
      if (head_is_event_request) return complete_head(Message{});
      break;
    case PacketType::EventUnknown:
      if (head_is_event_request) {
        return complete_head(fail(Error{ErrorKind::UnknownEvent, "charon does not know the event '" +
                                                                       queue_.front().name + "'"}));
      }
      break;
    default:
      break;
  }
  const std::string reason = "unexpected " + std::string(to_string(packet.type)) + " from charon" +
                             (in_flight_ ? " while waiting for '" + queue_.front().name + "'" : "");
  log_line(true, reason + "; reconnecting");
  lose_connection(reason, ErrorKind::Protocol);
}

void Client::complete_head(Response response) {
  request_timer_->cancel();
  Request request = std::move(queue_.front());
  queue_.pop_front();
  in_flight_ = false;
  if (request.kind == RequestKind::Register && !response.ok()) {
    registered_.erase(request.name);
    log_line(true, response.error().message);
  }
  pump();
  if (request.done) request.done(std::move(response));  // last: may destroy this
}

void Client::dispatch_event(const Packet& packet) {
  std::weak_ptr<int> alive = alive_;
  if (in_flight_) {
    const Request& head = queue_.front();
    if (head.kind == RequestKind::Command && head.stream_event == packet.name && head.on_event) {
      auto on_event = head.on_event;
      on_event(packet.message);
      if (alive.expired()) return;
    }
  }
  std::vector<std::uint64_t> ids;
  for (const auto& [id, entry] : registry_->handlers) {
    if (entry.first == packet.name) ids.push_back(id);
  }
  for (const auto id : ids) {
    const auto it = registry_->handlers.find(id);  // a handler may have unsubscribed another
    if (it == registry_->handlers.end()) continue;
    auto handler = it->second.second;
    if (handler) handler(packet.message);
    if (alive.expired()) return;
  }
}

void Client::on_closed(const std::string& reason) {
  log_line(true, "connection to charon closed: " + reason);
  lose_connection(reason, ErrorKind::ConnectionLost);
}

void Client::lose_connection(const std::string& reason, ErrorKind kind) {
  reconnect_timer_->arm(reconnect_backoff_.next());
  last_failure_ = reason;
  drop_connection(reason, kind, false, true);  // last: may destroy this
}

void Client::on_timeout() {
  if (!in_flight_) return;
  Request request = std::move(queue_.front());
  queue_.pop_front();
  in_flight_ = false;
  const std::string reason = "'" + request.name + "' not answered within " + std::to_string(to_ms(request.timeout)) +
                             " ms";
  log_line(true, reason + "; re-opening the connection");
  std::weak_ptr<int> alive = alive_;
  // A late answer would be taken for the next command's: start afresh, keep what was not sent.
  drop_connection(reason, ErrorKind::ConnectionLost, true, false);
  if (alive.expired()) return;
  connect_now(false);
  if (alive.expired()) return;
  if (connection_ == nullptr) {
    notify_state(false, reason);
    if (alive.expired()) return;
  }
  if (request.done) request.done(fail(Error{ErrorKind::Timeout, reason}));
}

void Client::drop_connection(const std::string& reason, ErrorKind kind, bool keep_unsent, bool notify) {
  connection_.reset();
  request_timer_->cancel();
  registered_.clear();
  std::deque<Request> failed;
  if (keep_unsent) {
    // Registrations are redone on the next connection.
    std::erase_if(queue_, [](const Request& r) { return r.kind != RequestKind::Command; });
  } else {
    failed.swap(queue_);
  }
  in_flight_ = false;
  std::weak_ptr<int> alive = alive_;
  if (notify) {
    notify_state(false, reason);
    if (alive.expired()) return;
  }
  const std::string prefix =
      kind == ErrorKind::NotConnected ? "not connected to charon: " : "connection to charon lost: ";
  for (auto& request : failed) {
    if (!request.done) continue;
    request.done(fail(Error{kind, prefix + reason}));
    if (alive.expired()) return;
  }
}

void Client::defer(std::function<void()> task) {
  deferred_.push_back(std::move(task));
  if (!defer_timer_->armed()) defer_timer_->arm(Duration::zero());
}

void Client::run_deferred() {
  std::weak_ptr<int> alive = alive_;
  std::deque<std::function<void()>> tasks;
  tasks.swap(deferred_);
  for (auto& task : tasks) {
    task();
    if (alive.expired()) return;
  }
}

}  // namespace advpnd::vici
