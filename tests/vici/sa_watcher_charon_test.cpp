// SaWatcher (vici/sa_watcher.h) against two real charons (charon_lab.h): the
// watcher follows B, which holds one responder template; A's provider
// brings an SA up to it. The IKE_SA appears with A's identity and address
// (ike-updown/child-updown), an SA that was up before the watcher started
// is found by the first list-sas, a terminated one goes, and a charon killed
// and started again empties the table and is followed again. Needs root.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>

#include "tests/vici/charon_lab.h"
#include "tests/vici/loop_support.h"
#include "vici/conn_builder.h"
#include "vici/sa_watcher.h"
#include "vici/strongswan_provider.h"

namespace {

using namespace std::chrono_literals;
using advpnd::IpAddress;
using advpnd::IpsecPeer;
using advpnd::test::call_ok;
using advpnd::test::CharonLab;
using advpnd::test::connected_client;
using advpnd::test::make_loop;
using advpnd::test::run_until;
using namespace advpnd::vici;

constexpr const char* kPsk = "lab-psk-0123456789";

void load_responder(advpnd::platform::EventLoop& loop, CharonLab& lab) {
  auto client = connected_client(loop, lab.b().socket, "responder");
  AuthConfig auth;
  auth.psk = kPsk;
  call_ok(loop, *client, "load-shared", build_load_shared("advpnd-psk", auth));
  ConnSpec spec;
  spec.name = "advpnd-responder";
  spec.local_addrs = {lab.b().address.to_string()};
  spec.remote_addrs = {"%any"};
  spec.policy.auth = auth;
  call_ok(loop, *client, "load-conn", build_load_conn(spec));
}

StrongswanConfig a_config(CharonLab& lab) {
  StrongswanConfig config;
  config.socket_path = lab.a().socket;
  config.local_nbma = lab.a().address;
  config.policy.auth.psk = kPsk;
  config.policy.auth.local_id = "10.0.0.11";  // what the hub binds registrations to
  config.policy.auth.remote_id = "%any";
  config.initiate_timeout = 2000ms;
  config.command_timeout = 3s;
  config.poll_interval = 200ms;
  config.reconnect_initial = 50ms;
  config.reconnect_max = 300ms;
  return config;
}

ClientOptions b_options(CharonLab& lab) {
  ClientOptions options;
  options.socket_path = lab.b().socket;
  options.name = "hub-sas";
  options.reconnect_initial = 50ms;
  options.reconnect_max = 300ms;
  return options;
}

TEST_CASE("sa watcher: follows the IKE_SAs of its charon by events, list-sas and reconnects") {
  REQUIRE_MESSAGE(advpnd::test::require_root().ok(), "needs root");
  auto made = CharonLab::create();
  REQUIRE_MESSAGE(made.ok(), made.error());
  auto lab = std::move(made).value();
  auto loop = make_loop();
  load_responder(*loop, *lab);
  StrongswanProvider provider(*loop, a_config(*lab));
  REQUIRE(run_until(*loop, [&] { return provider.charon_connected(); }, 3s));

  SUBCASE("an SA that comes up after the watcher started, then goes") {
    SaWatcher watcher(*loop, b_options(*lab));
    watcher.start();
    REQUIRE(run_until(*loop, [&] { return watcher.connected() && watcher.resyncs() == 1; }, 3s));
    CHECK(watcher.peers().find(lab->a().address) == nullptr);
    provider.ensure(lab->b().address);
    REQUIRE_MESSAGE(run_until(*loop, [&] { return watcher.peers().find(lab->a().address) != nullptr; }, 5s),
                    lab->log_tail(lab->b()));
    const IpsecPeer* peer = watcher.peers().find(lab->a().address);
    CHECK(peer->identity == "10.0.0.11");
    CHECK(peer->ike_address == lab->a().address);
    CHECK(peer->ike_port != 0);
    // (behind_nat: kernel-libipsec always encapsulates ESP in UDP, and
    // charon fakes a NAT to do so: nat-remote may say yes here.)
    // child-updown brought the host selector (A's own address, tunnel mode).
    REQUIRE(run_until(*loop, [&] { return !watcher.peers().find(lab->a().address)->inner_sources.empty(); }, 3s));
    CHECK(watcher.peers().find(lab->a().address)->inner_sources[0] == lab->a().address);

    provider.terminate(lab->b().address);
    REQUIRE(run_until(*loop, [&] { return watcher.peers().find(lab->a().address) == nullptr; }, 5s));
    CHECK(watcher.peers().peers().empty());
  }

  SUBCASE("an SA up before the watcher started; charon killed and back") {
    bool up = false;
    provider.set_listener([&up](const IpAddress&, advpnd::shortcut::TunnelState state, const std::string&) {
      up = up || state == advpnd::shortcut::TunnelState::Up;
    });
    provider.ensure(lab->b().address);
    REQUIRE_MESSAGE(run_until(*loop, [&] { return up; }, 5s), lab->log_tail(lab->a()));
    SaWatcher watcher(*loop, b_options(*lab));
    watcher.start();
    REQUIRE(run_until(*loop, [&] { return watcher.peers().find(lab->a().address) != nullptr; }, 3s));
    // And it stays: later resyncs (events, rekeys) must not lose it.
    advpnd::test::run_for(*loop, 500ms);
    REQUIRE(watcher.peers().find(lab->a().address) != nullptr);
    CHECK(watcher.peers().find(lab->a().address)->identity == "10.0.0.11");

    lab->stop_charon(lab->b(), SIGKILL);
    REQUIRE(run_until(*loop, [&] { return !watcher.connected(); }, 3s));
    CHECK(watcher.peers().peers().empty());  // nothing is protected while charon is gone
    REQUIRE(lab->start_charon(lab->b()).ok());
    REQUIRE(run_until(*loop, [&] { return watcher.connected() && watcher.resyncs() >= 2; }, 5s));
    CHECK(watcher.peers().peers().empty());  // a new charon knows no SA
  }
}

}  // namespace
