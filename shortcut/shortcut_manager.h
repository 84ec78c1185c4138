// On-demand spoke-to-spoke shortcuts (DMVPN phase 3): one entry per overlay
// prefix, one explicit state machine, one transition function.
//
//   Traffic Indication for D (rate limited, not already covered)
//        │
//        ▼
//   ┌──────────┐ reply ok   ┌────────────┐ provider Up  ┌────────┐
//   │Resolving │──────────▶ │ Connecting │────────────▶ │ Active │◀─────────┐
//   └──────────┘            └────────────┘ route via    └────────┘ reply ok │
//        │ NAK/timeout          │ Failed/timeout  peer      │ │  2/3 hold   │
//        ▼                      ▼                (make     │ └─────▶ ┌────────────┐
//   ┌──────────┐          ┌──────────┐  before break)      │ used     │ Refreshing │
//   │  Failed  │◀─────────│  Failed  │                     │         └────────────┘
//   └──────────┘          └──────────┘      idle / purge / │ unused at hold /  │ NAK/timeout
//    backoff ends: removed                  tunnel down    ▼ refresh failed    ▼
//                                                      ┌─────────┐ ◀───────────┘
//                                                      │ Closing │ route via hub FIRST,
//                                                      └─────────┘ then release the lease
//                                                           │
//                                                           ▼ removed
//
// Until the tunnel is up nothing changes for the traffic: it keeps going
// through the hub (make before break). On the way down the route goes back
// to the hub before the tunnel is torn down, so no packet meets a missing
// path. Each entry from Connecting on holds a TunnelLease (tunnel_pool.h):
// several prefixes (and the responder, and an NHS) may share a peer, and
// the pool terminates the tunnel when the last lease goes. Tunnel events
// reach an entry through its own lease. A tunnel the pool gives up on
// (bounded attempts) fails the entry like a connect timeout.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/duration_histogram.h"
#include "base/token_bucket.h"
#include "shortcut/dataplane.h"
#include "shortcut/resolver.h"
#include "shortcut/tunnel_pool.h"

namespace advpnd::shortcut {

enum class ShortcutState : std::uint8_t { Resolving, Connecting, Active, Refreshing, Closing, Failed };
[[nodiscard]] std::string_view to_string(ShortcutState state);

struct ShortcutConfig {
  std::chrono::seconds idle_timeout{120};     // issue default: no traffic for this long -> torn down
  std::chrono::seconds connect_timeout{30};   // provider must report Up within this
  std::chrono::seconds failure_backoff{5};    // first negative-cache period; doubles per failure ...
  std::chrono::seconds max_failure_backoff{300};  // ... up to this
  std::chrono::seconds idle_check_interval{1};
  std::size_t max_shortcuts = 4096;
  TokenRate indication_rate{1.0, 4.0};  // new shortcuts started per second (indication storms)
};

struct ShortcutInfo {
  Prefix prefix;
  ShortcutState state = ShortcutState::Resolving;
  IpAddress peer_nbma;
  IpAddress peer_protocol;
  Duration age{};
  Duration idle{};
  std::uint16_t holding_time = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

// Why a shortcut went to Failed (metrics: failures by reason).
enum class FailureCause : std::uint8_t { Resolution, TunnelFailed, TunnelDown, ConnectTimeout };
inline constexpr std::size_t kFailureCauseCount = 4;
[[nodiscard]] std::string_view to_string(FailureCause cause);

struct ShortcutStats {
  std::uint64_t indications = 0;
  std::uint64_t indications_ignored = 0;   // covered already, backing off, or rate limited
  std::uint64_t transitions = 0;
  std::uint64_t established = 0;
  std::uint64_t failed = 0;
  std::uint64_t closed_idle = 0;
  std::uint64_t refreshed = 0;
  std::array<std::uint64_t, kFailureCauseCount> failures{};  // by FailureCause; they add up to `failed`
  DurationHistogram setup_time;  // Traffic Indication -> Active (the direct path carries traffic)
};

class ShortcutManager {
 public:
  ShortcutManager(ShortcutConfig config, Resolver& resolver, TunnelPool& tunnels, ShortcutDataplane& dataplane,
                  const Clock& clock, TimerFactory& timers);
  ~ShortcutManager();
  ShortcutManager(const ShortcutManager&) = delete;
  ShortcutManager& operator=(const ShortcutManager&) = delete;

  // A Traffic Indication asked us to shortcut traffic to `destination`.
  void on_traffic_indication(const IpAddress& destination);
  // A Purge Request (from the hub or the peer) named `address`: shortcuts covering it close.
  void on_purge(const IpAddress& address);
  // SIGHUP: new timers and limits. Shortcuts keep their state; each new
  // value applies from its next use (the idle check, the next connect).
  void reconfigure(const ShortcutConfig& config);
  // Clean shutdown: every shortcut goes back to the hub, every tunnel is terminated.
  void close_all(const std::string& reason);

  [[nodiscard]] std::vector<ShortcutInfo> list() const;
  [[nodiscard]] const ShortcutStats& stats() const { return stats_; }
  [[nodiscard]] std::optional<ShortcutState> state_of(const Prefix& prefix) const;

 private:
  struct Entry;
  void on_resolved(const Prefix& key, const Resolution& result);
  void on_tunnel(const Prefix& key, TunnelState state, const std::string& reason);
  void check_idle();
  void on_timer(const Prefix& key);

  // The one transition function: refuses illegal moves, logs "old -> new
  // (reason)", counts, and runs the entry's actions for the new state.
  void transition(Entry& entry, ShortcutState to, const std::string& reason);
  // transition() to Failed, counted by cause.
  void transition_to_failed(Entry& entry, FailureCause cause, const std::string& reason);
  void enter_closing(Entry& entry);
  void erase(const Prefix& key);
  [[nodiscard]] Entry* covering(const IpAddress& address);
  [[nodiscard]] std::chrono::seconds backoff_for(const Prefix& key);

  ShortcutConfig config_;
  Resolver& resolver_;
  TunnelPool& tunnels_;
  ShortcutDataplane& dataplane_;
  const Clock& clock_;
  TimerFactory& timers_;
  std::map<Prefix, std::unique_ptr<Entry>> entries_;
  std::map<Prefix, int> failures_;       // consecutive failures per target: backoff doubling
  std::unique_ptr<Timer> idle_timer_;
  KeyedTokenBucket<int> start_rate_;  // one bucket: new shortcuts per second
  ShortcutStats stats_;
  std::shared_ptr<bool> alive_;  // resolver callbacks after destruction do nothing
};

}  // namespace advpnd::shortcut
