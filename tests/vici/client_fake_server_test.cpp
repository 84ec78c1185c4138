// vici::Client against a scripted VICI server on a unix socket in a temp
// dir (no charon, no root): what charon does rarely or never on purpose.
// Event registration before streaming, events interleaved with a command,
// answers split across reads, malformed frames, answers of the wrong type,
// EVENT_UNKNOWN, and a handler that destroys the client.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "platform/unique_fd.h"
#include "tests/support/temp_file.h"
#include "tests/support/test_data.h"
#include "tests/vici/loop_support.h"
#include "vici/client.h"

namespace {

using namespace std::chrono_literals;
using advpnd::platform::EventLoop;
using advpnd::platform::FdWatch;
using advpnd::platform::UniqueFd;
using advpnd::test::make_loop;
using advpnd::test::run_until;
using namespace advpnd::vici;

// Accepts connections and answers each packet with what `script` returns.
class FakeServer {
 public:
  using Script = std::function<std::vector<Packet>(const Packet& request, FakeServer& server)>;

  FakeServer(EventLoop& loop, std::string path, Script script)
      : loop_(loop), path_(std::move(path)), script_(std::move(script)) {
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockaddr API
    REQUIRE(::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_.get(), 8) == 0);
    auto watch = loop_.watch_readable(listener_.get(), [this] { accept_one(); });
    REQUIRE(watch.ok());
    accept_watch_ = std::move(watch).value();
  }

  void send(const Packet& packet) { send_raw(*encode_frame(packet)); }
  // Small frames to a live peer go out whole; a peer that left is ignored.
  void send_raw(const std::vector<std::byte>& bytes) {
    (void)::send(peer_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  void close_peer() {
    peer_watch_.reset();
    peer_.reset();
  }

  std::vector<Packet> received;
  int connections = 0;

 private:
  void accept_one() {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    ++connections;
    peer_watch_.reset();
    peer_ = std::move(fd);
    buffer_.clear();
    auto watch = loop_.watch_readable(peer_.get(), [this] { read_some(); });
    REQUIRE(watch.ok());
    peer_watch_ = std::move(watch).value();
  }
  void read_some() {
    std::byte chunk[4096];
    const ssize_t n = ::recv(peer_.get(), chunk, sizeof chunk, 0);
    if (n <= 0) return close_peer();
    buffer_.insert(buffer_.end(), chunk, chunk + n);
    while (true) {
      auto frame = decode_frame(buffer_);
      REQUIRE(frame.ok());
      if (!frame->has_value()) return;
      Packet request = (*frame)->packet;
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>((*frame)->size));
      received.push_back(request);
      for (const auto& answer : script_(request, *this)) send(answer);
      if (!peer_.valid()) return;
    }
  }

  EventLoop& loop_;
  std::string path_;
  Script script_;
  UniqueFd listener_;
  UniqueFd peer_;
  std::unique_ptr<FdWatch> accept_watch_;
  std::unique_ptr<FdWatch> peer_watch_;
  std::vector<std::byte> buffer_;
};

Packet confirm() { return Packet{PacketType::EventConfirm, "", {}}; }
Packet ok_response() { return Packet{PacketType::CmdResponse, "", Message().add("success", "yes")}; }
Packet event(const std::string& name, Message message) { return Packet{PacketType::Event, name, std::move(message)}; }

// Answers registrations with EVENT_CONFIRM and commands with success=yes.
std::vector<Packet> polite(const Packet& request, FakeServer&) {
  if (request.type == PacketType::EventRegister || request.type == PacketType::EventUnregister) return {confirm()};
  return {ok_response()};
}

std::unique_ptr<Client> make_client(EventLoop& loop, const std::string& path) {
  ClientOptions options;
  options.socket_path = path;
  options.reconnect_initial = 10ms;
  options.reconnect_max = 50ms;
  options.command_timeout = 2s;
  auto client = std::make_unique<Client>(loop, options);
  client->start();
  REQUIRE(client->connected());
  return client;
}

TEST_CASE("vici client: streaming registers its event once, before the command; events go to the command") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  FakeServer server(*loop, socket.path(), [](const Packet& request, FakeServer& s) -> std::vector<Packet> {
    if (request.name == "list-sas") {
      return {event("list-sa", Message().add("n", "1")), event("other", {}), event("list-sa", Message().add("n", "2")),
              ok_response()};
    }
    return polite(request, s);
  });
  auto client = make_client(*loop, socket.path());
  std::vector<std::string> seen;
  int done = 0;
  for (int round = 0; round < 2; ++round) {
    client->stream(
        "list-sas", Message(), "list-sa", [&](const Message& m) { seen.push_back(m.value_or("n")); },
        [&](Response r) {
          CHECK(r.ok());
          ++done;
        });
  }
  REQUIRE(run_until(*loop, [&] { return done == 2; }, 2s));
  CHECK(seen == std::vector<std::string>{"1", "2", "1", "2"});
  REQUIRE(server.received.size() == 3);
  CHECK(server.received[0].type == PacketType::EventRegister);
  CHECK(server.received[0].name == "list-sa");
  CHECK(server.received[1].name == "list-sas");
  CHECK(server.received[2].name == "list-sas");
}

TEST_CASE("vici client: subscribed events arrive while a command waits; an answer split across reads") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  FakeServer server(*loop, socket.path(), [&](const Packet& request, FakeServer& s) -> std::vector<Packet> {
    if (request.name != "slow") return polite(request, s);
    s.send(event("child-updown", Message().add("up", "yes")));
    return {};  // the answer follows later, in two pieces
  });
  auto client = make_client(*loop, socket.path());
  int updowns = 0;
  Subscription subscription = client->subscribe("child-updown", [&](const Message& m) {
    CHECK(m.find_bool("up"));
    ++updowns;
  });
  std::optional<Response> slow;
  client->command("slow", Message(), [&](Response r) { slow.emplace(std::move(r)); });
  REQUIRE(run_until(*loop, [&] { return updowns == 1; }, 2s));
  CHECK_FALSE(slow.has_value());
  const auto bytes = *encode_frame(Packet{PacketType::CmdResponse, "", Message().add("answer", "42")});
  server.send_raw(std::vector<std::byte>(bytes.begin(), bytes.begin() + 3));
  advpnd::test::run_for(*loop, 20ms);
  CHECK_FALSE(slow.has_value());
  server.send_raw(std::vector<std::byte>(bytes.begin() + 3, bytes.end()));
  REQUIRE(run_until(*loop, [&] { return slow.has_value(); }, 2s));
  REQUIRE(slow->ok());
  CHECK(slow->value().value_or("answer") == "42");

  // Unsubscribing sends EVENT_UNREGISTER.
  subscription.reset();
  REQUIRE(run_until(*loop, [&] { return server.received.back().type == PacketType::EventUnregister; }, 2s));
  CHECK(server.received.back().name == "child-updown");
}

TEST_CASE("vici client: a malformed frame or an answer of the wrong type fails the command and reconnects") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  FakeServer server(*loop, socket.path(), [](const Packet& request, FakeServer& s) -> std::vector<Packet> {
    if (request.name == "garbage") {
      s.send_raw(advpnd::test::hex("ffffffff 01"));
      return {};
    }
    if (request.name == "confused") return {confirm()};
    return polite(request, s);
  });
  auto client = make_client(*loop, socket.path());
  std::vector<bool> states;
  client->set_state_handler([&](bool up, const std::string&) { states.push_back(up); });

  std::optional<Response> garbage;
  client->command("garbage", Message(), [&](Response r) { garbage.emplace(std::move(r)); });
  REQUIRE(run_until(*loop, [&] { return garbage.has_value(); }, 2s));
  REQUIRE_FALSE(garbage->ok());
  CHECK(garbage->error().kind == ErrorKind::ConnectionLost);
  CHECK(garbage->error().message.find("malformed frame") != std::string::npos);
  REQUIRE(run_until(*loop, [&] { return client->connected() && server.connections == 2; }, 2s));

  std::optional<Response> confused;
  client->command("confused", Message(), [&](Response r) { confused.emplace(std::move(r)); });
  REQUIRE(run_until(*loop, [&] { return confused.has_value(); }, 2s));
  REQUIRE_FALSE(confused->ok());
  CHECK(confused->error().kind == ErrorKind::Protocol);
  CHECK(confused->error().message.find("unexpected EVENT_CONFIRM") != std::string::npos);
  REQUIRE(run_until(*loop, [&] { return client->connected() && server.connections == 3; }, 2s));
  CHECK(advpnd::test::call(*loop, *client, "fine").ok());
  // The first `true` is the connect made by start(), told from the loop.
  CHECK(states == std::vector<bool>{true, false, true, false, true});
}

TEST_CASE("vici client: EVENT_UNKNOWN for a subscription is logged; commands carry on") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  FakeServer server(*loop, socket.path(), [](const Packet& request, FakeServer& s) -> std::vector<Packet> {
    if (request.type == PacketType::EventRegister) return {Packet{PacketType::EventUnknown, "", {}}};
    return polite(request, s);
  });
  std::vector<std::string> warnings;
  advpnd::log::set_sink([&](advpnd::log::Level level, std::string_view, std::string_view text) {
    if (level >= advpnd::log::Level::Warning) warnings.emplace_back(text);
  });
  auto client = make_client(*loop, socket.path());
  Subscription subscription = client->subscribe("no-such-event", [](const Message&) {});
  CHECK(advpnd::test::call(*loop, *client, "fine").ok());
  advpnd::log::set_sink({});
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("does not know the event 'no-such-event'") != std::string::npos);
}

TEST_CASE("vici client: a response handler may destroy the client; the rest are dropped") {
  advpnd::test::TempFile socket(".vici");
  auto loop = make_loop();
  FakeServer server(*loop, socket.path(), polite);
  auto client = make_client(*loop, socket.path());
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    client->command("x", Message(), [&](Response) {
      ++calls;
      client.reset();
    });
  }
  advpnd::test::run_for(*loop, 100ms);
  CHECK(calls == 1);
  CHECK(client == nullptr);
}

TEST_CASE("vici client: a socket path that cannot exist is refused with a reason") {
  auto loop = make_loop();
  ClientOptions options;
  options.socket_path = std::string(200, 'x');
  Client client(*loop, options);
  client.start();
  CHECK_FALSE(client.connected());
  std::optional<Response> response;
  client.command("version", Message(), [&](Response r) { response.emplace(std::move(r)); });
  REQUIRE(run_until(*loop, [&] { return response.has_value(); }, 1s));
  REQUIRE_FALSE(response->ok());
  CHECK(response->error().kind == ErrorKind::NotConnected);
  CHECK(response->error().message.find("longer than") != std::string::npos);
}

}  // namespace
