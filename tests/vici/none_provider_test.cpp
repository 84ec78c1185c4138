// The `none` provider (vici/none_provider.h) on the fake loop: Up and Down
// come from the loop, never inside ensure()/terminate(); ensure() is
// idempotent; the warning is logged at construction.
#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

#include "base/log.h"
#include "fakes/fake_loop.h"
#include "vici/none_provider.h"

namespace {

using advpnd::IpAddress;
using advpnd::fakes::FakeLoop;
using advpnd::shortcut::TunnelState;
using advpnd::vici::NoneProvider;

struct LogCapture {
  std::vector<std::string> warnings;
  LogCapture() {
    advpnd::log::set_sink([this](advpnd::log::Level level, std::string_view, std::string_view text) {
      if (level == advpnd::log::Level::Warning) warnings.emplace_back(text);
    });
  }
  ~LogCapture() { advpnd::log::set_sink({}); }
};

TEST_CASE("none provider: loud warning, Up/Down from the loop, idempotent ensure, no counters") {
  LogCapture logs;
  FakeLoop loop;
  NoneProvider provider(loop);
  REQUIRE(logs.warnings.size() == 1);
  CHECK(logs.warnings[0].find("CLEAR TEXT") != std::string::npos);
  CHECK(provider.name() == "none");

  std::vector<std::tuple<IpAddress, TunnelState, std::string>> events;
  provider.set_listener([&](const IpAddress& peer, TunnelState state, const std::string& reason) {
    events.emplace_back(peer, state, reason);
  });
  const IpAddress peer = IpAddress::v4(192, 0, 2, 2);
  provider.ensure(peer);
  CHECK(events.empty());  // never inside ensure()
  loop.run_until_idle();
  REQUIRE(events.size() == 1);
  CHECK(std::get<0>(events[0]) == peer);
  CHECK(std::get<1>(events[0]) == TunnelState::Up);

  provider.ensure(peer);
  loop.run_until_idle();
  CHECK(events.size() == 1);
  CHECK_FALSE(provider.counters(peer).has_value());

  provider.terminate(peer);
  CHECK(events.size() == 1);
  loop.run_until_idle();
  REQUIRE(events.size() == 2);
  CHECK(std::get<1>(events[1]) == TunnelState::Down);

  provider.ensure(peer);
  loop.run_until_idle();
  REQUIRE(events.size() == 3);
  CHECK(std::get<1>(events[2]) == TunnelState::Up);
  CHECK(loop.callback_exceptions() == 0);
}

TEST_CASE("none provider: the listener may destroy the provider") {
  LogCapture logs;
  FakeLoop loop;
  auto provider = std::make_unique<NoneProvider>(loop);
  int calls = 0;
  provider->set_listener([&](const IpAddress&, TunnelState, const std::string&) {
    ++calls;
    provider.reset();
  });
  provider->ensure(IpAddress::v4(192, 0, 2, 2));
  provider->ensure(IpAddress::v4(192, 0, 2, 3));
  loop.run_until_idle();
  CHECK(calls == 1);
  CHECK(provider == nullptr);
}

}  // namespace
