// SaWatcher (vici/sa_watcher.h) against two real charons (charon_lab.h): the
// watcher follows B, which holds one responder template; A initiates an SA
// to it over VICI. The IKE_SA appears with A's identity and address
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

// A's side by hand (load-shared, load-conn, initiate), not through the
// provider: its list-sas poll is not what is tested here.
const char* kAConn = "advpnd-192.0.2.2";

std::unique_ptr<Client> prepare_a(advpnd::platform::EventLoop& loop, CharonLab& lab) {
  auto client = connected_client(loop, lab.a().socket, "a");
  AuthConfig auth;
  auth.psk = kPsk;
  auth.local_id = "10.0.0.11";  // what the hub binds registrations to
  auth.remote_id = "%any";
  call_ok(loop, *client, "load-shared", build_load_shared("advpnd-psk", auth));
  ConnSpec spec;
  spec.name = kAConn;
  spec.local_addrs = {lab.a().address.to_string()};
  spec.remote_addrs = {lab.b().address.to_string()};
  spec.policy.auth = auth;
  call_ok(loop, *client, "load-conn", build_load_conn(spec));
  return client;
}

void bring_up(advpnd::platform::EventLoop& loop, Client& a) {
  call_ok(loop, a, "initiate", build_initiate("gre", kAConn, 5000ms));
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
  auto a = prepare_a(*loop, *lab);

  SUBCASE("an SA that comes up after the watcher started, then goes") {
    SaWatcher watcher(*loop, b_options(*lab));
    watcher.start();
    REQUIRE(run_until(*loop, [&] { return watcher.connected() && watcher.resyncs() == 1; }, 3s));
    CHECK(watcher.peers().find(lab->a().address) == nullptr);
    bring_up(*loop, *a);
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

    call_ok(*loop, *a, "terminate", build_terminate(kAConn, 3000ms));
    REQUIRE(run_until(*loop, [&] { return watcher.peers().find(lab->a().address) == nullptr; }, 5s));
    CHECK(watcher.peers().peers().empty());
  }

  SUBCASE("an SA up before the watcher started; charon killed and back") {
    bring_up(*loop, *a);
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
