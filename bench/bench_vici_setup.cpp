// ensure -> Up time of the strongSwan provider with a real charon pair
// (tests/vici/charon_lab.h: two namespaces, kernel-libipsec, PSK,
// aes256-sha256-modp2048), and terminate -> Down. A plain timed program:
//
//   sudo build/default/bench/bench_vici_setup [runs]     (default 10)
//
// Each run: ensure(192.0.2.2) on a fresh provider connection state, time to
// the Up report; then terminate and time to Down (SA deleted, connection
// unloaded). Prints every run and the median, min and max.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "platform/event_loop.h"
#include "tests/vici/charon_lab.h"
#include "vici/client.h"
#include "vici/conn_builder.h"
#include "vici/strongswan_provider.h"

namespace {

using namespace std::chrono_literals;
using advpnd::Duration;
using advpnd::IpAddress;
using advpnd::platform::EventLoop;
using advpnd::shortcut::TunnelState;
namespace vici = advpnd::vici;

constexpr const char* kPsk = "bench-psk-0123456789";

bool run_until(EventLoop& loop, const std::function<bool()>& done, Duration limit) {
  if (done()) return true;
  const auto deadline = loop.now() + limit;
  std::unique_ptr<advpnd::Timer> tick;
  tick = loop.make_timer([&] {
    if (done() || loop.now() >= deadline) {
      loop.stop();
      return;
    }
    tick->arm(100us);
  });
  tick->arm(Duration::zero());
  (void)loop.run();
  return done();
}

bool call(EventLoop& loop, vici::Client& client, const std::string& command, vici::Message request) {
  std::optional<vici::Response> response;
  client.command(command, std::move(request), [&](vici::Response r) { response.emplace(std::move(r)); });
  if (!run_until(loop, [&] { return response.has_value(); }, 5s) || !response->ok()) return false;
  return vici::command_failure(**response).empty();
}

bool load_responder(EventLoop& loop, advpnd::test::CharonLab& lab) {
  vici::ClientOptions options;
  options.socket_path = lab.b().socket;
  vici::Client client(loop, options);
  client.start();
  vici::AuthConfig auth;
  auth.psk = kPsk;
  vici::ConnSpec spec;
  spec.name = "advpnd-responder";
  spec.local_addrs = {lab.b().address.to_string()};
  spec.remote_addrs = {"%any"};
  spec.policy.auth = auth;
  return call(loop, client, "load-shared", vici::build_load_shared("advpnd-psk", auth)) &&
         call(loop, client, "load-conn", vici::build_load_conn(spec));
}

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void summary(const char* what, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  std::printf("%-22s median %7.2f ms   min %7.2f ms   max %7.2f ms   (n=%zu)\n", what, median, values.front(),
              values.back(), n);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
  advpnd::log::set_level(advpnd::log::Level::Warning);
  auto lab = advpnd::test::CharonLab::create();
  if (!lab) {
    std::fprintf(stderr, "bench_vici_setup: %s\n", lab.error().c_str());
    return 1;
  }
  auto loop_result = EventLoop::create();
  if (!loop_result) return 1;
  auto loop = std::move(loop_result).value();
  if (!load_responder(*loop, **lab)) {
    std::fprintf(stderr, "bench_vici_setup: cannot load the responder template on B\n");
    return 1;
  }

  vici::StrongswanConfig config;
  config.socket_path = (*lab)->a().socket;
  config.local_nbma = (*lab)->a().address;
  config.policy.auth.psk = kPsk;
  vici::StrongswanProvider provider(*loop, config);
  std::optional<TunnelState> last;
  provider.set_listener([&](const IpAddress&, TunnelState state, const std::string&) { last = state; });
  const IpAddress peer = (*lab)->b().address;

  std::printf("strongSwan provider, kernel-libipsec, PSK, %s / %s, two namespaces over veth\n",
              config.policy.ike_proposals.front().c_str(), config.policy.esp_proposals.front().c_str());
  std::vector<double> up_times;
  std::vector<double> down_times;
  for (int i = 0; i < runs; ++i) {
    last.reset();
    auto start = loop->now();
    provider.ensure(peer);
    if (!run_until(*loop, [&] { return last.has_value(); }, 15s) || *last != TunnelState::Up) {
      std::fprintf(stderr, "run %d: no Up\n%s", i + 1, (*lab)->log_tail((*lab)->a()).c_str());
      return 1;
    }
    up_times.push_back(ms(loop->now() - start));
    last.reset();
    start = loop->now();
    provider.terminate(peer);
    if (!run_until(*loop, [&] { return last.has_value(); }, 15s) || *last != TunnelState::Down) {
      std::fprintf(stderr, "run %d: no Down\n", i + 1);
      return 1;
    }
    down_times.push_back(ms(loop->now() - start));
    std::printf("run %2d: ensure -> Up %7.2f ms   terminate -> Down %7.2f ms\n", i + 1, up_times.back(),
                down_times.back());
  }
  summary("ensure -> Up", up_times);
  summary("terminate -> Down", down_times);
  return 0;
}
