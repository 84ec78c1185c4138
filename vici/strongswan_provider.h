// The strongSwan IPsec provider (shortcut/ipsec_provider.h) over VICI, for
// stock strongSwan 5.9 (strongswan-netns.md "On-demand tunnels through
// VICI"): VICI's initiate takes no peer address, so each peer gets its own
// connection, named from its NBMA address ("advpnd-198.51.100.3"), loaded
// with load-conn and started with initiate; terminate + unload-conn remove
// it. The responder side needs one template connection (remote_addrs=%any),
// which the provider loads with the credentials; an SA a peer set up to
// that template counts as the peer's tunnel.
//
// Per peer, one state machine (transition() refuses other moves and logs
// "old -> new"):
//
//            ensure                load-conn ok          SA installed
//   (none) ─────────▶ Loading ───────────────▶ Checking ─────────────────▶ Up
//                       │                         │ none (list-sas)         ▲ ▲
//                       │                         ▼                         │ │
//                       │                     Initiating ──success──────────┘ │
//                       │                         │ failed / timeout          │
//                       │                         ▼                           │
//                       │                     Verifying ──SA installed────────┘
//                       ▼ error                   │ none (list-sas)
//                     Failed ◀────────────────────┘
//                       │ retry timer (backoff, capped), or charon reconnected
//                       └──────────▶ Loading
//   Up ──CHILD_SA gone (child-updown, then list-sas; or the poll)──▶ Terminating (Down reported)
//   any ──terminate()──▶ Terminating ──terminate + unload-conn answered──▶ (none), Down reported
//   A child-updown "up" event for the peer's connection moves any setting-up state to Up.
//
// Connections to charon: one "control" connection (load-*, list-sas,
// unload-conn, and the ike-updown/child-updown subscriptions), and a few
// "initiator" connections for initiate and terminate, which hold their
// connection until the IKE exchange ends (up to the timeout): one peer that
// never answers must not hold up the others, nor the poll.
//
// Failures (charon not running, socket gone, IKE failing, timeouts) are
// reported as Failed with the reason, once per failed attempt; the provider
// keeps retrying with exponential backoff (jittered, capped) until the peer
// is up or terminate() is called. ensure() on a Failed peer changes nothing.
// When the control connection drops (charon stopped or restarted), every Up
// peer is reported Down: its SAs died with charon (kernel-libipsec keeps ESP
// inside charon). After charon comes back, credentials are loaded again and
// Failed peers retry at once.
//
// Both ends initiating at once leaves two IKE_SAs between them; the poll
// (run at once on a child-updown "up" of a peer that is Up already) keeps
// one by the tie-break of duplicate_sa.h and terminates ours if it lost.
//
// Counters come from list-sas, polled every poll_interval (noblock); a
// tunnel missing from the poll is listed again without noblock (a busy
// IKE_SA is skipped by noblock, not gone), and only a tunnel missing from
// that too (or whose child-updown "down" the next list-sas confirms) is
// reported Down.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/ip_address.h"
#include "platform/event_loop.h"
#include "shortcut/ipsec_provider.h"
#include "vici/client.h"
#include "vici/conn_builder.h"
#include "vici/sa_list.h"

namespace advpnd::vici {

struct StrongswanConfig {
  std::string socket_path{kDefaultSocketPath};
  IpAddress local_nbma;  // local_addrs of every connection; empty: any
  std::string conn_prefix = "advpnd-";
  TunnelPolicy policy;
  std::chrono::milliseconds initiate_timeout{10'000};  // charon's initiate timeout
  std::chrono::milliseconds terminate_timeout{3'000};  // DELETE forced after this
  Duration command_timeout = std::chrono::seconds(5);  // load-conn, list-sas, ...
  Duration poll_interval = std::chrono::seconds(5);
  Duration retry_initial = std::chrono::seconds(1);
  Duration retry_max = std::chrono::seconds(60);
  Duration reconnect_initial = std::chrono::milliseconds(200);
  Duration reconnect_max = std::chrono::seconds(5);
  unsigned initiators = 2;  // connections for initiate/terminate (parallel exchanges)
  // Load one template connection (conn_prefix + "responder", remote_addrs
  // %any) with the credentials, so that peers can set up shortcuts to us
  // and NHS-side initiations are accepted: charon needs no config file.
  bool responder_template = true;
};

enum class PeerState : std::uint8_t { Loading, Checking, Initiating, Verifying, Up, Failed, Terminating };
[[nodiscard]] std::string_view to_string(PeerState state);

class StrongswanProvider final : public shortcut::IpsecProvider {
 public:
  // Connects to charon at once (and keeps reconnecting); never blocks.
  StrongswanProvider(platform::EventLoop& loop, StrongswanConfig config);
  // Leaves charon's connections and SAs as they are.
  ~StrongswanProvider() override;
  StrongswanProvider(const StrongswanProvider&) = delete;
  StrongswanProvider& operator=(const StrongswanProvider&) = delete;

  void set_listener(Listener listener) override { listener_ = std::move(listener); }
  void ensure(const IpAddress& peer) override;
  void expect_identity(const IpAddress& peer, const std::string& identity) override;
  void terminate(const IpAddress& peer) override;
  [[nodiscard]] std::optional<shortcut::TunnelCounters> counters(const IpAddress& peer) const override;
  [[nodiscard]] std::string_view name() const override { return "strongswan"; }

  // For status output and tests.
  [[nodiscard]] std::optional<PeerState> state(const IpAddress& peer) const;
  [[nodiscard]] bool charon_connected() const { return control_->connected(); }
  // How many times any peer entered `state` (metrics).
  [[nodiscard]] std::uint64_t transitions_into(PeerState state) const {
    return transitions_[static_cast<std::size_t>(state)];
  }
  // Our own IKE_SAs terminated because the peer's won the tie-break.
  [[nodiscard]] std::uint64_t duplicates_dropped() const { return duplicates_dropped_; }

 private:
  struct Peer {
    IpAddress address;
    std::string conn;
    PeerState state = PeerState::Loading;
    std::uint64_t attempt = 0;  // answers to an older attempt are ignored
    Backoff backoff;
    std::unique_ptr<Timer> retry_timer;
    MonotonicTime up_since{};
    shortcut::TunnelCounters counters;
    bool report_down_when_gone = true;  // false once Down was reported already
    bool ensure_when_gone = false;      // ensure() arrived while terminating
  };
  enum class CredsState : std::uint8_t { NotLoaded, Loading, Loaded };
  using Continuation = std::function<void(const std::string& error)>;

  Peer* find(const IpAddress& peer);
  // The SA carries `peer`'s traffic: it is of the peer's own connection, or
  // the peer initiated it to our responder template.
  [[nodiscard]] bool carries(const IkeSa& sa, const Peer& peer) const;
  Peer& create(const IpAddress& peer, PeerState initial, const std::string& reason);
  bool transition(Peer& peer, PeerState to, const std::string& reason);
  void report(const IpAddress& peer, shortcut::TunnelState state, const std::string& reason);

  void start_attempt(Peer& peer);
  void with_credentials(Continuation next);
  void load_credentials();
  void on_loaded(const IpAddress& address, std::uint64_t attempt, const Response& response);
  void check_existing(Peer& peer, PeerState checking, const std::string& failure);
  void initiate(Peer& peer);
  void go_up(Peer& peer, const std::string& reason);
  void fail_attempt(Peer& peer, const std::string& reason);
  void abort_then_fail(Peer& peer, const std::string& reason);
  void begin_terminate(Peer& peer, bool report_down_now, const std::string& reason);
  void terminate_next(const IpAddress& address, std::uint64_t attempt, std::vector<std::uint64_t> ike_ids, bool first);
  void finish_terminate(const IpAddress& address, std::uint64_t attempt);

  void on_control_state(bool connected, const std::string& reason);
  void on_updown(const Message& event, bool child_event);
  void poll();
  void on_poll(const std::vector<IkeSa>& sas, MonotonicTime started);
  // The peer's installed CHILD_SAs in a listing, counters summed; nullopt: none.
  [[nodiscard]] std::optional<shortcut::TunnelCounters> installed_counters(const Peer& peer,
                                                                           const std::vector<IkeSa>& sas) const;
  // Peers missing from a noblock poll: a blocking listing decides.
  void confirm_vanished(std::vector<IpAddress> vanished, MonotonicTime started);
  void drop_duplicates(const Peer& peer, const std::vector<IkeSa>& sas);
  Client& initiator();

  platform::EventLoop& loop_;
  StrongswanConfig config_;
  Listener listener_;
  std::unique_ptr<Client> control_;
  std::vector<std::unique_ptr<Client>> initiators_;
  Subscription child_updown_;
  Subscription ike_updown_;
  // expect_identity (issue #12): the remote IKE identity per peer NBMA.
  std::map<IpAddress, std::string> expected_ids_;
  std::map<IpAddress, std::unique_ptr<Peer>> peers_;
  CredsState creds_ = CredsState::NotLoaded;
  std::vector<Continuation> creds_waiters_;
  std::unique_ptr<Timer> poll_timer_;
  bool poll_in_flight_ = false;
  bool poll_again_ = false;
  std::array<std::uint64_t, 7> transitions_{};  // by PeerState
  std::uint64_t duplicates_dropped_ = 0;
  std::set<std::uint64_t> dropping_;  // IKE_SA IDs whose terminate is in flight
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace advpnd::vici
