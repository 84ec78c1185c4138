// Helpers for the VICI tests that run the real event loop: run until a
// condition holds (with a deadline), and call a VICI command synchronously.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "platform/event_loop.h"
#include "vici/client.h"
#include "vici/sa_list.h"

namespace advpnd::test {

inline std::unique_ptr<platform::EventLoop> make_loop() {
  auto loop = platform::EventLoop::create();
  REQUIRE_MESSAGE(loop.ok(), loop.error());
  return std::move(loop).value();
}

// Runs the loop until `done()` or `limit`; returns done().
inline bool run_until(platform::EventLoop& loop, const std::function<bool()>& done, Duration limit) {
  using namespace std::chrono_literals;
  if (done()) return true;
  const auto deadline = loop.now() + limit;
  std::unique_ptr<Timer> tick;
  tick = loop.make_timer([&] {
    if (done() || loop.now() >= deadline) {
      loop.stop();
      return;
    }
    tick->arm(2ms);
  });
  tick->arm(Duration::zero());
  REQUIRE(loop.run().ok());
  return done();
}

// Runs the loop for `duration` whatever happens.
inline void run_for(platform::EventLoop& loop, Duration duration) {
  (void)run_until(loop, [] { return false; }, duration);
}

inline vici::Response call(platform::EventLoop& loop, vici::Client& client, const std::string& command,
                           vici::Message request = {}, Duration limit = std::chrono::seconds(10)) {
  std::optional<vici::Response> response;
  client.command(command, std::move(request), [&](vici::Response r) { response.emplace(std::move(r)); });
  REQUIRE_MESSAGE(run_until(loop, [&] { return response.has_value(); }, limit), "no answer to " << command);
  return std::move(*response);
}

// A command that must succeed ({success = yes}, when it says).
inline vici::Message call_ok(platform::EventLoop& loop, vici::Client& client, const std::string& command,
                             vici::Message request = {}) {
  auto response = call(loop, client, command, std::move(request));
  REQUIRE_MESSAGE(response.ok(), command << ": " << response.error().message);
  if (response->find_value("success") != nullptr) {
    REQUIRE_MESSAGE(response->find_bool("success"), command << ": " << vici::to_text(*response));
  }
  return *response;
}

inline std::vector<vici::IkeSa> list_sas(platform::EventLoop& loop, vici::Client& client) {
  std::vector<vici::IkeSa> sas;
  std::optional<vici::Response> response;
  client.stream(
      "list-sas", vici::Message().add("noblock", "yes"), "list-sa",
      [&](const vici::Message& event) {
        for (auto& sa : vici::parse_ike_sas(event)) sas.push_back(std::move(sa));
      },
      [&](vici::Response r) { response.emplace(std::move(r)); });
  REQUIRE(run_until(loop, [&] { return response.has_value(); }, std::chrono::seconds(10)));
  REQUIRE_MESSAGE(response->ok(), response->error().message);
  return sas;
}

// Connects a client and waits until it is connected.
inline std::unique_ptr<vici::Client> connected_client(platform::EventLoop& loop, const std::string& socket,
                                                      const std::string& name = "test") {
  vici::ClientOptions options;
  options.socket_path = socket;
  options.name = name;
  options.reconnect_initial = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  auto client = std::make_unique<vici::Client>(loop, options);
  client->start();
  REQUIRE_MESSAGE(run_until(loop, [&] { return client->connected(); }, std::chrono::seconds(5)),
                  "cannot connect to " << socket);
  return client;
}

}  // namespace advpnd::test
