// The spoke's one user of the IPsec provider (ARCHITECTURE.md: spoke-to-hub
// tunnels come up at start; spoke-to-spoke ones on demand). Three users
// share the provider through it:
//
//  * the NHS registrations: at start it ensure()s a tunnel to every NHS
//    and keeps it up (a Down is followed by a new ensure after kNhsRetry; a
//    Failed attempt the provider retries by itself). When one comes up, the
//    registration goes out at once instead of waiting for its
//    retransmission timer (with GRE steered into the SAs and failing
//    closed, strongswan-netns.md, every send before that failed);
//  * the responder: a Resolution Reply goes straight to the requester's
//    NBMA address, so, as on Cisco DMVPN phase 3, the tunnel to the
//    requester is set up first and the reply sent over it (when_up). An
//    action that waited for a tunnel runs again kRepeatAfterSetup later:
//    when both spokes got a redirect at once, both initiate IKE, and the
//    end that answered one exchange installs its CHILD_SA (and may send
//    through it) before the initiating end has installed its half (RFC 7296
//    1.2), so the first reply can be lost; a duplicate reply is ignored by
//    the requester, a lost one costs it a 1 s retransmission;
//  * the shortcut layer, which sees the broker as its provider. Tunnel
//    events go to it as well; ensure() of a peer whose tunnel is up already
//    (an NHS, or set up for a reply) reports Up at once, which the provider
//    itself would not repeat; a shortcut cannot terminate an NHS's tunnel
//    (its terminate only reports Down).
//
// Reports to the shortcut layer never run inside its own calls (the
// provider contract): they go through a zero-delay timer.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"
#include "shortcut/ipsec_provider.h"

namespace advpnd::agent {

class TunnelBroker final : public shortcut::IpsecProvider {
 public:
  // Called when the tunnel to an NHS comes up.
  using PathUp = std::function<void(const IpAddress& nhs_nbma)>;
  static constexpr Duration kNhsRetry = std::chrono::seconds(1);
  // Actions waiting for one peer's tunnel (replies to a burst of requests).
  static constexpr std::size_t kMaxWaitingPerPeer = 16;
  static constexpr Duration kRepeatAfterSetup = std::chrono::milliseconds(20);

  TunnelBroker(shortcut::IpsecProvider& provider, TimerFactory& timers, PathUp path_up);
  ~TunnelBroker() override;
  TunnelBroker(const TunnelBroker&) = delete;
  TunnelBroker& operator=(const TunnelBroker&) = delete;

  // ensure() a tunnel to each NHS now and keep it up from then on.
  void start(const std::vector<IpAddress>& nhs_nbmas);
  // Runs `action` once the tunnel to `peer` is up: now if it is, else after
  // ensure() succeeds; dropped (with a log line) if the tunnel fails.
  void when_up(const IpAddress& peer, std::function<void()> action);
  [[nodiscard]] bool up(const IpAddress& peer) const { return up_.contains(peer); }
  // Why the tunnel to an NHS last failed or went down; empty while it is up
  // (advpnctl show nhs).
  [[nodiscard]] std::string nhs_tunnel_error(const IpAddress& nhs_nbma) const {
    const auto it = nhs_errors_.find(nhs_nbma);
    return it == nhs_errors_.end() ? std::string{} : it->second;
  }

  // shortcut::IpsecProvider, for the shortcut layer.
  void set_listener(Listener listener) override { shortcut_listener_ = std::move(listener); }
  void ensure(const IpAddress& peer) override;
  void terminate(const IpAddress& peer) override;
  [[nodiscard]] std::optional<shortcut::TunnelCounters> counters(const IpAddress& peer) const override {
    return provider_.counters(peer);
  }
  [[nodiscard]] std::string_view name() const override { return provider_.name(); }

 private:
  void on_tunnel(const IpAddress& peer, shortcut::TunnelState state, const std::string& reason);
  void tell_shortcuts_later(const IpAddress& peer, shortcut::TunnelState state, std::string reason);
  void flush_deferred();

  shortcut::IpsecProvider& provider_;
  TimerFactory& timers_;
  PathUp path_up_;
  Listener shortcut_listener_;
  std::set<IpAddress> nhs_;
  std::set<IpAddress> up_;  // every peer the provider last reported Up
  std::map<IpAddress, std::string> nhs_errors_;
  std::map<IpAddress, std::vector<std::function<void()>>> waiting_;
  std::vector<std::unique_ptr<Timer>> repeats_;  // kRepeatAfterSetup; fired ones are pruned
  std::unique_ptr<Timer> retry_timer_;
  std::set<IpAddress> retry_;
  struct Deferred {
    IpAddress peer;
    shortcut::TunnelState state;
    std::string reason;
  };
  std::unique_ptr<Timer> deferred_timer_;
  std::vector<Deferred> deferred_;
};

}  // namespace advpnd::agent
