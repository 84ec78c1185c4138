// vici::Client against a real charon (charon_lab.h): commands, streaming,
// CMD_UNKNOWN, queueing, NotConnected while charon is away, reconnect with
// subscriptions registered again, ConnectionLost when charon dies under a
// command, and the timeout reset. Needs root.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/vici/charon_lab.h"
#include "tests/vici/loop_support.h"
#include "vici/client.h"
#include "vici/conn_builder.h"

namespace {

using namespace std::chrono_literals;
using advpnd::test::call;
using advpnd::test::call_ok;
using advpnd::test::CharonLab;
using advpnd::test::connected_client;
using advpnd::test::make_loop;
using advpnd::test::run_until;
using namespace advpnd::vici;

std::unique_ptr<CharonLab> make_lab() {
  auto lab = CharonLab::create();
  REQUIRE_MESSAGE(lab.ok(), lab.error());
  return std::move(lab).value();
}

// A connection on A towards an address nobody answers from (no host at .99).
void load_dead_peer(advpnd::platform::EventLoop& loop, Client& client) {
  ConnSpec spec;
  spec.name = "dead";
  spec.local_addrs = {"192.0.2.1"};
  spec.remote_addrs = {"192.0.2.99"};
  spec.policy.dpd_delay = 0s;
  call_ok(loop, client, "load-conn", build_load_conn(spec));
}

TEST_CASE("vici client + charon: version, streaming list-sas, unknown command") {
  auto lab = make_lab();
  auto loop = make_loop();
  auto client = connected_client(*loop, lab->a().socket);

  const Message version = call_ok(*loop, *client, "version");
  CHECK(version.value_or("daemon") == "charon");
  CHECK(version.value_or("version").rfind("5.", 0) == 0);

  int events = 0;
  std::optional<Response> done;
  client->stream(
      "list-sas", Message(), "list-sa", [&](const Message&) { ++events; }, [&](Response r) { done.emplace(r); });
  REQUIRE(run_until(*loop, [&] { return done.has_value(); }, 5s));
  CHECK(done->ok());
  CHECK(events == 0);

  auto unknown = call(*loop, *client, "no-such-command");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::UnknownCommand);
  // The connection is still good afterwards.
  CHECK(call_ok(*loop, *client, "version").value_or("daemon") == "charon");
}

TEST_CASE("vici client + charon: many commands queued at once are answered in order") {
  auto lab = make_lab();
  auto loop = make_loop();
  auto client = connected_client(*loop, lab->a().socket);
  std::vector<int> order;
  for (int i = 0; i < 40; ++i) {
    client->command(i % 2 == 0 ? "version" : "get-conns", Message(), [&order, i](Response r) {
      CHECK(r.ok());
      order.push_back(i);
    });
  }
  CHECK(client->pending() > 1);
  REQUIRE(run_until(*loop, [&] { return order.size() == 40; }, 10s));
  for (int i = 0; i < 40; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("vici client + charon: NotConnected while charon is away, connects when it appears") {
  auto lab = make_lab();
  lab->stop_charon(lab->a(), SIGTERM);
  auto loop = make_loop();
  ClientOptions options;
  options.socket_path = lab->a().socket;
  options.reconnect_initial = 20ms;
  options.reconnect_max = 100ms;
  Client client(*loop, options);
  std::vector<bool> states;
  client.set_state_handler([&](bool up, const std::string&) { states.push_back(up); });
  client.start();
  CHECK_FALSE(client.connected());

  std::optional<Response> response;
  client.command("version", Message(), [&](Response r) { response.emplace(std::move(r)); });
  CHECK_FALSE(response.has_value());  // never inside command()
  REQUIRE(run_until(*loop, [&] { return response.has_value(); }, 2s));
  REQUIRE_FALSE(response->ok());
  CHECK(response->error().kind == ErrorKind::NotConnected);
  CHECK(response->error().message.find(lab->a().socket) != std::string::npos);
  REQUIRE(states.size() == 1);
  CHECK_FALSE(states[0]);

  REQUIRE(lab->start_charon(lab->a()).ok());
  REQUIRE(run_until(*loop, [&] { return client.connected(); }, 3s));
  CHECK(call_ok(*loop, client, "version").value_or("daemon") == "charon");
  REQUIRE(run_until(*loop, [&] { return states.size() == 2; }, 1s));
  CHECK(states[1]);
}

TEST_CASE("vici client + charon: charon killed under a command; reconnect re-registers subscriptions") {
  auto lab = make_lab();
  auto loop = make_loop();
  auto client = connected_client(*loop, lab->a().socket);
  int log_events = 0;
  Subscription logs = client->subscribe("log", [&](const Message& event) {
    if (!event.value_or("msg").empty()) ++log_events;
  });
  std::vector<std::pair<bool, std::string>> states;
  client->set_state_handler([&](bool up, const std::string& reason) { states.emplace_back(up, reason); });
  load_dead_peer(*loop, *client);
  REQUIRE(run_until(*loop, [&] { return log_events > 0; }, 2s));  // load-conn logs "added vici connection"

  // initiate waits (timeout 0 = forever) for a peer that never answers.
  std::optional<Response> initiate;
  std::optional<Response> queued;
  client->command("initiate", build_initiate("gre", "dead", 0ms), [&](Response r) { initiate.emplace(r); }, 30s);
  client->command("version", Message(), [&](Response r) { queued.emplace(r); });
  advpnd::test::run_for(*loop, 200ms);
  CHECK_FALSE(initiate.has_value());

  lab->stop_charon(lab->a(), SIGKILL);
  REQUIRE(run_until(*loop, [&] { return initiate.has_value() && queued.has_value(); }, 3s));
  REQUIRE_FALSE(initiate->ok());
  CHECK(initiate->error().kind == ErrorKind::ConnectionLost);
  REQUIRE_FALSE(queued->ok());
  CHECK(queued->error().kind == ErrorKind::ConnectionLost);
  REQUIRE_FALSE(states.empty());
  CHECK_FALSE(states.back().first);
  CHECK_FALSE(client->connected());

  REQUIRE(lab->start_charon(lab->a()).ok());
  REQUIRE(run_until(*loop, [&] { return client->connected(); }, 3s));
  CHECK(states.back().first);
  // The "log" subscription was registered again on the new connection.
  log_events = 0;
  load_dead_peer(*loop, *client);
  REQUIRE(run_until(*loop, [&] { return log_events > 0; }, 2s));
}

TEST_CASE("vici client + charon: a command that times out resets the connection, the next one goes through") {
  auto lab = make_lab();
  auto loop = make_loop();
  auto client = connected_client(*loop, lab->a().socket);
  std::vector<bool> states;
  client->set_state_handler([&](bool up, const std::string&) { states.push_back(up); });
  load_dead_peer(*loop, *client);

  std::optional<Response> initiate;
  std::optional<Response> next;
  const auto started = loop->now();
  client->command("initiate", build_initiate("gre", "dead", 0ms), [&](Response r) { initiate.emplace(r); }, 300ms);
  client->command("version", Message(), [&](Response r) { next.emplace(r); });
  REQUIRE(run_until(*loop, [&] { return initiate.has_value() && next.has_value(); }, 5s));
  REQUIRE_FALSE(initiate->ok());
  CHECK(initiate->error().kind == ErrorKind::Timeout);
  CHECK(loop->now() - started >= 300ms);
  REQUIRE_MESSAGE(next->ok(), next->error().message);
  CHECK(next->value().value_or("daemon") == "charon");
  // Re-opened at once: no "disconnected" for the state handler.
  for (const bool up : states) CHECK(up);
  // The abandoned initiate is charon's to finish; stop its IKE_SA.
  (void)call(*loop, *client, "terminate", build_terminate("dead", 1000ms));
}

}  // namespace
