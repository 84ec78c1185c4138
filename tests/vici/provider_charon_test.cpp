// StrongswanProvider against two real charons (charon_lab.h): the provider
// drives charon A; charon B holds one responder template (remote_addrs =
// %any) loaded through vici::Client. Up/Down/Failed, counters after real
// GRE through the SA, adoption of an existing SA, a tunnel torn down from
// the far side, charon killed and restarted, a wrong PSK with backoff, and
// a peer that never answers. Needs root.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/vici/charon_lab.h"
#include "tests/vici/loop_support.h"
#include "vici/conn_builder.h"
#include "vici/strongswan_provider.h"

namespace {

using namespace std::chrono_literals;
using advpnd::IpAddress;
using advpnd::MonotonicTime;
using advpnd::platform::EventLoop;
using advpnd::shortcut::TunnelState;
using advpnd::test::call_ok;
using advpnd::test::CharonLab;
using advpnd::test::connected_client;
using advpnd::test::list_sas;
using advpnd::test::make_loop;
using advpnd::test::run_until;
using namespace advpnd::vici;

constexpr const char* kPsk = "lab-psk-0123456789";
constexpr const char* kResponder = "advpnd-responder";

struct Event {
  IpAddress peer;
  TunnelState state;
  std::string reason;
  MonotonicTime at;
};

struct Recorder {
  std::vector<Event> events;
  [[nodiscard]] std::size_t count(TunnelState state) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](const Event& e) { return e.state == state; }));
  }
  // The reason of the last event in `state` ("" if none).
  [[nodiscard]] std::string last_reason(TunnelState state) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->state == state) return it->reason;
    }
    return {};
  }
};

std::unique_ptr<CharonLab> make_lab() {
  auto lab = CharonLab::create();
  REQUIRE_MESSAGE(lab.ok(), lab.error());
  return std::move(lab).value();
}

// B's one template connection: any peer, GRE only, the lab PSK.
void load_responder(EventLoop& loop, CharonLab& lab, const std::string& psk) {
  auto client = connected_client(loop, lab.b().socket, "responder");
  AuthConfig auth;
  auth.psk = psk;
  call_ok(loop, *client, "load-shared", build_load_shared("advpnd-psk", auth));
  ConnSpec spec;
  spec.name = kResponder;
  spec.local_addrs = {lab.b().address.to_string()};
  spec.remote_addrs = {"%any"};
  spec.policy.auth = auth;
  call_ok(loop, *client, "load-conn", build_load_conn(spec));
}

StrongswanConfig lab_config(CharonLab& lab) {
  StrongswanConfig config;
  config.socket_path = lab.a().socket;
  config.local_nbma = lab.a().address;
  config.policy.auth.psk = kPsk;
  config.initiate_timeout = 2000ms;
  config.terminate_timeout = 1000ms;
  config.command_timeout = 3s;
  config.poll_interval = 200ms;
  config.retry_initial = 200ms;
  config.retry_max = 1s;
  config.reconnect_initial = 50ms;
  config.reconnect_max = 300ms;
  return config;
}

std::unique_ptr<StrongswanProvider> make_provider(EventLoop& loop, const StrongswanConfig& config, Recorder& recorder) {
  auto provider = std::make_unique<StrongswanProvider>(loop, config);
  provider->set_listener([&recorder, &loop](const IpAddress& peer, TunnelState state, const std::string& reason) {
    recorder.events.push_back(Event{peer, state, reason, loop.now()});
  });
  return provider;
}

const IkeSa* find_sa(const std::vector<IkeSa>& sas, const std::string& name) {
  for (const auto& sa : sas) {
    if (sa.name == name) return &sa;
  }
  return nullptr;
}

TEST_CASE("strongswan provider: ensure -> Up, SA listed, counters after GRE, terminate -> Down and SA gone") {
  auto lab = make_lab();
  auto loop = make_loop();
  load_responder(*loop, *lab, kPsk);
  Recorder recorder;
  auto provider = make_provider(*loop, lab_config(*lab), recorder);
  CHECK(provider->name() == "strongswan");
  const IpAddress peer = lab->b().address;

  const auto started = loop->now();
  provider->ensure(peer);
  CHECK(recorder.events.empty());  // never inside ensure()
  REQUIRE_MESSAGE(run_until(
                      *loop, [&] { return recorder.count(TunnelState::Up) == 1; }, 5s),
                  lab->log_tail(lab->a()));
  MESSAGE("ensure -> Up in " << std::chrono::duration_cast<std::chrono::milliseconds>(loop->now() - started).count()
                             << " ms");
  CHECK(recorder.events.size() == 1);
  CHECK(recorder.events[0].peer == peer);
  CHECK(provider->state(peer) == PeerState::Up);

  provider->ensure(peer);  // idempotent
  advpnd::test::run_for(*loop, 300ms);
  CHECK(recorder.events.size() == 1);

  auto observer = connected_client(*loop, lab->a().socket, "observer");
  const auto sas = list_sas(*loop, *observer);
  const IkeSa* sa = find_sa(sas, "advpnd-192.0.2.2");
  REQUIRE(sa != nullptr);
  CHECK(sa->state == "ESTABLISHED");
  CHECK(sa->remote_host == "192.0.2.2");
  CHECK(sa->has_installed_child("gre"));

  // Five GRE packets of 100 bytes from A to B go through the SA (IPv4 20 + GRE 4 + 100 each).
  REQUIRE(lab->send_gre(lab->a(), peer, 5, 100).ok());
  REQUIRE_MESSAGE(run_until(
                      *loop,
                      [&] {
                        auto c = provider->counters(peer);
                        return c && c->packets_out >= 5;
                      },
                      3s),
                  "counters never showed the GRE packets");
  const auto counters = *provider->counters(peer);
  CHECK(counters.bytes_out >= 5 * 124);
  CHECK(counters.idle_out.has_value());

  provider->terminate(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Down) == 1; }, 5s));
  CHECK(recorder.events.back().reason == "terminated");
  CHECK_FALSE(provider->state(peer).has_value());
  CHECK_FALSE(provider->counters(peer).has_value());
  CHECK(find_sa(list_sas(*loop, *observer), "advpnd-192.0.2.2") == nullptr);
  const Message conns = call_ok(*loop, *observer, "get-conns");
  REQUIRE(conns.find_list("conns") != nullptr);
  CHECK(std::find(conns.find_list("conns")->begin(), conns.find_list("conns")->end(), "advpnd-192.0.2.2") ==
        conns.find_list("conns")->end());
}

TEST_CASE("strongswan provider: an installed SA is adopted, not initiated twice") {
  auto lab = make_lab();
  auto loop = make_loop();
  load_responder(*loop, *lab, kPsk);
  const IpAddress peer = lab->b().address;
  {
    Recorder first;
    auto provider = make_provider(*loop, lab_config(*lab), first);
    provider->ensure(peer);
    REQUIRE(run_until(
        *loop, [&] { return first.count(TunnelState::Up) == 1; }, 5s));
  }  // the provider goes; its SA stays in charon
  Recorder recorder;
  auto provider = make_provider(*loop, lab_config(*lab), recorder);
  provider->ensure(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Up) == 1; }, 5s));
  CHECK(recorder.events[0].reason == "CHILD_SA already installed");
  auto observer = connected_client(*loop, lab->a().socket, "observer");
  const auto sas = list_sas(*loop, *observer);
  CHECK(std::count_if(sas.begin(), sas.end(), [](const IkeSa& sa) { return sa.name == "advpnd-192.0.2.2"; }) == 1);
}

TEST_CASE("strongswan provider: a tunnel torn down from the far side is reported Down") {
  auto lab = make_lab();
  auto loop = make_loop();
  load_responder(*loop, *lab, kPsk);
  Recorder recorder;
  auto provider = make_provider(*loop, lab_config(*lab), recorder);
  const IpAddress peer = lab->b().address;
  provider->ensure(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Up) == 1; }, 5s));

  auto far = connected_client(*loop, lab->b().socket, "far");
  call_ok(*loop, *far, "terminate", Message().add("ike", kResponder).add("timeout", "2000"));
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Down) == 1; }, 3s));
  CHECK(recorder.events.back().reason == "CHILD_SA gone");
  REQUIRE(run_until(
      *loop, [&] { return !provider->state(peer).has_value(); }, 3s));

  provider->ensure(peer);  // and it can come back
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Up) == 2; }, 5s));
}

TEST_CASE("strongswan provider: charon killed -> Down, Failed while away, Up again once it is back") {
  auto lab = make_lab();
  auto loop = make_loop();
  load_responder(*loop, *lab, kPsk);
  Recorder recorder;
  auto provider = make_provider(*loop, lab_config(*lab), recorder);
  const IpAddress peer = lab->b().address;
  provider->ensure(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Up) == 1; }, 5s));

  lab->stop_charon(lab->a(), SIGKILL);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Down) == 1; }, 3s));
  CHECK(recorder.last_reason(TunnelState::Down).find("charon connection lost") != std::string::npos);
  CHECK_FALSE(provider->charon_connected());

  provider->ensure(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Failed) >= 2; }, 3s));
  CHECK(recorder.last_reason(TunnelState::Failed).find("not connected to charon") != std::string::npos);
  CHECK(provider->state(peer) == PeerState::Failed);

  REQUIRE(lab->start_charon(lab->a()).ok());
  REQUIRE_MESSAGE(run_until(
                      *loop, [&] { return recorder.count(TunnelState::Up) == 2; }, 8s),
                  lab->log_tail(lab->a()));
  CHECK(provider->charon_connected());
  CHECK(provider->state(peer) == PeerState::Up);
}

TEST_CASE("strongswan provider: wrong PSK on the peer -> Failed with the reason, retried with backoff") {
  auto lab = make_lab();
  auto loop = make_loop();
  load_responder(*loop, *lab, "not-the-lab-psk");
  Recorder recorder;
  auto provider = make_provider(*loop, lab_config(*lab), recorder);
  const IpAddress peer = lab->b().address;
  provider->ensure(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Failed) >= 3; }, 6s));
  const std::string& reason = recorder.events[0].reason;
  MESSAGE("reason: " << reason);
  CHECK(reason.find("initiate advpnd-192.0.2.2") != std::string::npos);
  CHECK(reason.find("AUTHENTICATION_FAILED") != std::string::npos);
  CHECK(provider->state(peer) == PeerState::Failed);
  CHECK(provider->transitions_into(PeerState::Failed) == recorder.count(TunnelState::Failed));
  // Backoff 200 ms, then 400 ms (+-20 % jitter) between the attempts.
  CHECK(recorder.events[1].at - recorder.events[0].at >= 160ms);
  CHECK(recorder.events[2].at - recorder.events[1].at >= 320ms);
  CHECK(recorder.count(TunnelState::Up) == 0);

  // The peer's key is fixed: a later retry succeeds.
  load_responder(*loop, *lab, kPsk);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Up) == 1; }, 5s));
  provider->terminate(peer);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Down) == 1; }, 5s));
}

TEST_CASE("strongswan provider: a peer that never answers -> Failed after the timeout, its IKE_SA stopped") {
  auto lab = make_lab();
  auto loop = make_loop();
  Recorder recorder;
  auto config = lab_config(*lab);
  config.initiate_timeout = 1500ms;
  config.retry_initial = 5s;  // no retry while the test looks
  auto provider = make_provider(*loop, config, recorder);
  auto observer = connected_client(*loop, lab->a().socket, "observer");
  const IpAddress nobody = IpAddress::v4(192, 0, 2, 3);

  const auto started = loop->now();
  provider->ensure(nobody);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Failed) == 1; }, 6s));
  CHECK(loop->now() - started >= 1500ms);
  CHECK(recorder.events[0].reason.find("not established after 1500ms") != std::string::npos);
  CHECK(find_sa(list_sas(*loop, *observer), "advpnd-192.0.2.3") == nullptr);

  provider->terminate(nobody);
  REQUIRE(run_until(
      *loop, [&] { return recorder.count(TunnelState::Down) == 1; }, 5s));
  CHECK_FALSE(provider->state(nobody).has_value());
}

}  // namespace

// Both ends run the provider (as two spokes do): each loads its own
// responder template with its credentials, so no swanctl config is needed,
// and the side that did not initiate finds the peer's SA (made to its
// template) instead of setting up a second IKE_SA.
TEST_CASE("strongswan provider: both ends; the peer's SA to our template is our tunnel too") {
  auto lab = make_lab();
  auto loop = make_loop();
  Recorder at_a;
  Recorder at_b;
  auto provider_a = make_provider(*loop, lab_config(*lab), at_a);
  StrongswanConfig config_b = lab_config(*lab);
  config_b.socket_path = lab->b().socket;
  config_b.local_nbma = lab->b().address;
  auto provider_b = make_provider(*loop, config_b, at_b);

  // Each provider loads its credentials and template as soon as it has
  // reached charon; no ensure is needed for that.
  REQUIRE(run_until(
      *loop, [&] { return provider_a->charon_connected() && provider_b->charon_connected(); }, 3s));
  advpnd::test::run_for(*loop, 200ms);
  provider_b->ensure(lab->a().address);
  REQUIRE_MESSAGE(run_until(
                      *loop, [&] { return at_b.count(TunnelState::Up) == 1; }, 5s),
                  lab->log_tail(lab->b()));
  CHECK(at_b.events.back().peer == lab->a().address);

  // A's template answered B; now A wants B: the SA is there already.
  provider_a->ensure(lab->b().address);
  REQUIRE_MESSAGE(run_until(
                      *loop, [&] { return at_a.count(TunnelState::Up) == 1; }, 5s),
                  lab->log_tail(lab->a()));
  CHECK(at_a.last_reason(TunnelState::Up).find("already installed") != std::string::npos);
  auto observer = connected_client(*loop, lab->a().socket, "observer");
  const auto sas = list_sas(*loop, *observer);
  CHECK(sas.size() == 1);  // one IKE_SA between the two, not two
  REQUIRE(find_sa(sas, kResponder) != nullptr);
  CHECK(find_sa(sas, kResponder)->remote_host == lab->b().address.to_string());

  // The poll keeps it Up on A (it is of A's template, not of A's per-peer connection).
  advpnd::test::run_for(*loop, 700ms);
  CHECK(at_a.count(TunnelState::Down) == 0);
  CHECK(provider_a->counters(lab->b().address).has_value());

  // B ends it: A hears that it is gone.
  provider_b->terminate(lab->a().address);
  REQUIRE_MESSAGE(run_until(
                      *loop, [&] { return at_a.count(TunnelState::Down) == 1; }, 5s),
                  lab->log_tail(lab->a()));
}
