// One owner for the lifetime of every IPsec tunnel a spoke uses (issue #10
// "one owner for tunnel lifetime"). Whoever needs the tunnel to a peer takes
// a TunnelLease: a shortcut (shortcut_manager.h), the responder sending a
// Resolution Reply over it (agent/tunnel_broker.h), an NHS registration.
// The pool ensure()s the tunnel when the first lease is taken and
// terminate()s it when the last one is destroyed; nobody else calls the
// provider.
//
// Per peer:
//
//   first lease ──ensure──▶ Connecting ──provider Up──▶ Up ──Down──▶ Connecting
//                             │  Failed (the provider retries by itself)
//                             ▼
//            an NHS lease: keep retrying forever (control path), say why
//            otherwise: after max_attempts failed attempts ──▶ GivenUp:
//              terminate() (no more IKE), every holder told Failed,
//              remembered for `advpnctl show tunnels`, counted by holder
//   last lease destroyed ──▶ terminate() (unless GivenUp already), forgotten
//
// A Down of an NHS tunnel is followed by a new ensure() after a backoff
// (nhs_retry_initial, doubling to nhs_retry_max); other holders decide for
// themselves (a shortcut closes). Holders hear Up/Down/Failed through the
// listener given with their lease, always from the event loop, never
// inside lease() (a lease of a tunnel that is up already hears Up at once,
// which the provider itself would not repeat).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"
#include "shortcut/ipsec_provider.h"

namespace advpnd::shortcut {

enum class LeaseHolder : std::uint8_t { Nhs, Shortcut, Reply };
inline constexpr std::size_t kLeaseHolders = 3;
[[nodiscard]] std::string_view to_string(LeaseHolder holder);

enum class PoolTunnelState : std::uint8_t { Connecting, Up, GivenUp };
[[nodiscard]] std::string_view to_string(PoolTunnelState state);

struct TunnelPoolConfig {
  // Failed IKE attempts after which a tunnel nobody needs for an NHS is given up.
  unsigned max_attempts = 3;
  Duration nhs_retry_initial = std::chrono::seconds(1);
  Duration nhs_retry_max = std::chrono::seconds(60);
  std::size_t given_up_kept = 32;  // given-up peers remembered for status output
};

class TunnelPool;

// Move-only; destroying (or reset()) releases it.
class TunnelLease {
 public:
  using Listener = std::function<void(TunnelState state, const std::string& reason)>;
  TunnelLease() = default;
  ~TunnelLease() { reset(); }
  TunnelLease(TunnelLease&& other) noexcept;
  TunnelLease& operator=(TunnelLease&& other) noexcept;
  TunnelLease(const TunnelLease&) = delete;
  TunnelLease& operator=(const TunnelLease&) = delete;

  void reset();
  [[nodiscard]] explicit operator bool() const { return id_ != 0; }
  [[nodiscard]] const IpAddress& peer() const { return peer_; }

 private:
  friend class TunnelPool;
  TunnelLease(std::weak_ptr<TunnelPool*> pool, IpAddress peer, std::uint64_t id)
      : pool_(std::move(pool)), peer_(peer), id_(id) {}
  std::weak_ptr<TunnelPool*> pool_;
  IpAddress peer_;
  std::uint64_t id_ = 0;
};

// One line of `advpnctl show tunnels`.
struct TunnelStatus {
  IpAddress peer;
  PoolTunnelState state = PoolTunnelState::Connecting;
  std::array<std::size_t, kLeaseHolders> leases{};  // by LeaseHolder
  unsigned failed_attempts = 0;                      // since the last Up
  std::string last_error;
};

struct TunnelPoolStats {
  std::array<std::uint64_t, kLeaseHolders> given_up{};  // by the kind of the first holder
  std::uint64_t terminated = 0;                         // last lease gone
};

class TunnelPool {
 public:
  TunnelPool(IpsecProvider& provider, TimerFactory& timers, TunnelPoolConfig config = {});
  ~TunnelPool();
  TunnelPool(const TunnelPool&) = delete;
  TunnelPool& operator=(const TunnelPool&) = delete;

  [[nodiscard]] TunnelLease lease(const IpAddress& peer, LeaseHolder holder, TunnelLease::Listener listener);
  [[nodiscard]] bool up(const IpAddress& peer) const;
  [[nodiscard]] std::optional<TunnelCounters> counters(const IpAddress& peer) const {
    return provider_.counters(peer);
  }
  [[nodiscard]] std::string_view provider_name() const { return provider_.name(); }
  // IpsecProvider::expect_identity (issue #12), before a lease of `peer`.
  void expect_identity(const IpAddress& peer, const std::string& identity) {
    provider_.expect_identity(peer, identity);
  }
  // Leased tunnels, then the given-up ones still remembered (no leases).
  [[nodiscard]] std::vector<TunnelStatus> status() const;
  [[nodiscard]] std::optional<TunnelStatus> status(const IpAddress& peer) const;
  [[nodiscard]] const TunnelPoolStats& stats() const { return stats_; }
  // From now on releasing a lease terminates nothing and no holder hears
  // anything: the daemon is going away and leaves its SAs to charon (the
  // clean shutdown closed what it meant to close before).
  void detach();

 private:
  friend class TunnelLease;
  struct Holder {
    std::uint64_t id;
    LeaseHolder kind;
    TunnelLease::Listener listener;
  };
  struct Peer {
    PoolTunnelState state = PoolTunnelState::Connecting;
    std::vector<Holder> holders;
    unsigned failed_attempts = 0;
    std::string last_error;
    Duration nhs_retry{};
    std::unique_ptr<Timer> retry_timer;  // NHS tunnel down: ensure again
  };
  struct Event {
    std::uint64_t holder;
    TunnelState state;
    std::string reason;
  };

  void release(const IpAddress& peer, std::uint64_t id);
  void on_provider(const IpAddress& peer, TunnelState state, const std::string& reason);
  void on_failed(const IpAddress& address, Peer& peer, const std::string& reason);
  void give_up(const IpAddress& address, Peer& peer);
  void schedule_nhs_retry(const IpAddress& address, Peer& peer);
  void tell_all(const Peer& peer, TunnelState state, const std::string& reason);
  void tell_later(std::uint64_t holder, TunnelState state, std::string reason);
  void flush();
  [[nodiscard]] const Holder* find_holder(std::uint64_t id) const;
  [[nodiscard]] static bool has_nhs(const Peer& peer);
  [[nodiscard]] static TunnelStatus status_of(const IpAddress& address, const Peer& peer);

  IpsecProvider& provider_;
  TimerFactory& timers_;
  TunnelPoolConfig config_;
  std::map<IpAddress, Peer> peers_;
  std::deque<TunnelStatus> given_up_;  // newest last, at most given_up_kept
  std::uint64_t next_id_ = 1;
  std::vector<Event> events_;
  std::unique_ptr<Timer> events_timer_;
  TunnelPoolStats stats_;
  std::shared_ptr<TunnelPool*> self_;  // leases outliving the pool release nothing
};

}  // namespace advpnd::shortcut
