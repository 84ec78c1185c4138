// The spoke's tunnels (ARCHITECTURE.md: spoke-to-hub tunnels come up at
// start; spoke-to-spoke ones on demand), all owned by one TunnelPool
// (shortcut/tunnel_pool.h): whoever needs a tunnel holds a lease, and the
// tunnel goes when the last lease does. Three kinds of holder:
//
//  * the NHS registrations: at start one lease per NHS, kept until the
//    broker goes. The pool retries an NHS tunnel forever (backoff); when
//    it comes up the registration goes out at once (path up), when it
//    goes down or fails the registration hears that too (path down);
//  * the responder: a Resolution Reply goes straight to the requester's
//    NBMA address, so, as on Cisco DMVPN phase 3, the tunnel to the
//    requester is set up first and the reply sent over it (when_up). The
//    reply's lease is bounded: when the tunnel does not come up within
//    kReplyFallback (or the pool gives it up first), the waiting replies
//    go through the NHS instead (a requester behind a NAT: our IKE to its
//    private address cannot succeed; it initiates to us once it has the
//    reply) and the lease is dropped; without a fallback, they are dropped
//    after kReplyWait. Once the reply went out directly, the lease is kept only
//    while the tunnel carries traffic (no packet for `reply_idle`: the
//    requester's shortcut has gone idle too) or until it goes down. An
//    action that waited for a tunnel runs again kRepeatAfterSetup later:
//    when both spokes got a redirect at once, both initiate IKE, and the
//    end that answered one exchange installs its CHILD_SA (and may send
//    through it) before the initiating end has installed its half (RFC 7296
//    1.2), so the first reply can be lost; a duplicate reply is ignored by
//    the requester, a lost one costs it a 1 s retransmission;
//  * the shortcut layer, which takes its own leases from pool().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"
#include "shortcut/tunnel_pool.h"

namespace advpnd::agent {

struct TunnelBrokerConfig {
  shortcut::TunnelPoolConfig pool;
  // A responder's tunnel whose reply went out is released after this long
  // without a packet (the shortcut idle timeout of the requester, typically).
  Duration reply_idle = std::chrono::seconds(120);
};

class TunnelBroker {
 public:
  // Called when the tunnel to an NHS comes up (true) or goes down or fails (false).
  using PathChanged = std::function<void(const IpAddress& nhs_nbma, bool up)>;
  // Actions waiting for one peer's tunnel (replies to a burst of requests).
  static constexpr std::size_t kMaxWaitingPerPeer = 16;
  static constexpr Duration kRepeatAfterSetup = std::chrono::milliseconds(20);
  // A reply's tunnel must come up within this (the requester's resolution
  // times out by then; it asks again and a new lease is taken).
  static constexpr Duration kReplyWait = std::chrono::seconds(30);
  // Replies with a fallback take it when the tunnel is not up within this
  // (an IKE exchange takes tens of ms; charon's first retransmission is at 4 s).
  static constexpr Duration kReplyFallback = std::chrono::seconds(3);
  // How often a responder's tunnel is checked for traffic.
  static constexpr Duration kReplyIdleCheck = std::chrono::seconds(5);

  TunnelBroker(shortcut::IpsecProvider& provider, const Clock& clock, TimerFactory& timers, PathChanged path_changed,
               TunnelBrokerConfig config = {});
  ~TunnelBroker();
  TunnelBroker(const TunnelBroker&) = delete;
  TunnelBroker& operator=(const TunnelBroker&) = delete;

  // A lease on the tunnel to each NHS from now on.
  void start(const std::vector<IpAddress>& nhs_nbmas);
  // Runs `action` once the tunnel to `peer` is up: now if it is, else when
  // it comes up. If it does not within kReplyFallback (or fails), runs
  // `fallback` instead (false: it could not; then dropped after kReplyWait).
  void when_up(const IpAddress& peer, std::function<void()> action, std::function<bool()> fallback = {});
  [[nodiscard]] bool up(const IpAddress& peer) const { return pool_.up(peer); }
  // Why the tunnel to an NHS last failed or went down; empty while it is up
  // (advpnctl show nhs).
  [[nodiscard]] std::string nhs_tunnel_error(const IpAddress& nhs_nbma) const;
  // Peers the responder holds a tunnel to (advpnctl show tunnels).
  [[nodiscard]] std::size_t reply_tunnels() const { return replies_.size(); }
  [[nodiscard]] std::uint64_t replies_dropped() const { return replies_dropped_; }
  [[nodiscard]] std::uint64_t replies_via_nhs() const { return replies_via_nhs_; }

  [[nodiscard]] shortcut::TunnelPool& pool() { return pool_; }
  [[nodiscard]] const shortcut::TunnelPool& pool() const { return pool_; }
  [[nodiscard]] std::string_view name() const { return pool_.provider_name(); }
  // The agent is going away: no lease released from now on terminates a tunnel.
  void detach() { pool_.detach(); }

 private:
  // The responder's hold on one requester's tunnel.
  struct Reply {
    shortcut::TunnelLease lease;
    std::vector<std::function<void()>> waiting;
    std::vector<std::function<bool()>> fallbacks;
    bool sent = false;  // the tunnel came up and the replies went out
    MonotonicTime created{};
    std::uint64_t last_packets = 0;
    MonotonicTime last_used{};
    std::unique_ptr<Timer> timer;  // kReplyFallback, kReplyWait, then kReplyIdleCheck
  };
  void on_reply_tunnel(const IpAddress& peer, shortcut::TunnelState state, const std::string& reason);
  void run_waiting(const IpAddress& peer, Reply& reply);
  void on_reply_timer(const IpAddress& peer);
  void drop_reply(const IpAddress& peer, const std::string& why);
  // Runs the waiting replies' fallbacks and drops the lease; false if none could run.
  bool send_via_nhs(const IpAddress& peer, const std::string& why);

  const Clock& clock_;
  TimerFactory& timers_;
  TunnelBrokerConfig config_;
  shortcut::TunnelPool pool_;
  PathChanged path_changed_;
  std::map<IpAddress, shortcut::TunnelLease> nhs_;
  std::map<IpAddress, std::unique_ptr<Reply>> replies_;
  std::vector<std::unique_ptr<Timer>> repeats_;  // kRepeatAfterSetup; fired ones are pruned
  std::uint64_t replies_dropped_ = 0;
  std::uint64_t replies_via_nhs_ = 0;
};

}  // namespace advpnd::agent
