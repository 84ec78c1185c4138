#include "shortcut/shortcut_manager.h"

#include <algorithm>

#include "base/log.h"

namespace advpnd::shortcut {
namespace {
constexpr std::string_view kLog = "shortcut";
constexpr int kSingleBucket = 0;

// FRR nhrp_shortcut.c: a shortcut is "expiring" at 2/3 of its holding time;
// if it was used it is refreshed then, otherwise it ends at the full time.
Duration refresh_point(std::uint16_t holding_time) { return std::chrono::seconds(holding_time) * 2 / 3; }

bool legal(ShortcutState from, ShortcutState to) {
  using S = ShortcutState;
  switch (from) {
    case S::Resolving:
      return to == S::Connecting || to == S::Failed;
    case S::Connecting:
      return to == S::Active || to == S::Failed || to == S::Closing;
    case S::Active:
      return to == S::Refreshing || to == S::Closing;
    case S::Refreshing:
      return to == S::Active || to == S::Closing;
    case S::Closing:
    case S::Failed:
      return false;  // both end in removal
  }
  return false;
}
}  // namespace

std::string_view to_string(FailureCause cause) {
  switch (cause) {
    case FailureCause::Resolution:
      return "resolution";
    case FailureCause::TunnelFailed:
      return "tunnel-failed";
    case FailureCause::TunnelDown:
      return "tunnel-down";
    case FailureCause::ConnectTimeout:
      return "connect-timeout";
  }
  return "unknown";
}

std::string_view to_string(ShortcutState state) {
  switch (state) {
    case ShortcutState::Resolving:
      return "resolving";
    case ShortcutState::Connecting:
      return "connecting";
    case ShortcutState::Active:
      return "active";
    case ShortcutState::Refreshing:
      return "refreshing";
    case ShortcutState::Closing:
      return "closing";
    case ShortcutState::Failed:
      return "failed";
  }
  return "unknown";
}

struct ShortcutManager::Entry {
  Prefix key;
  ShortcutState state = ShortcutState::Resolving;
  IpAddress target;
  IpAddress peer_nbma;
  IpAddress peer_protocol;
  std::uint16_t holding_time = 0;
  std::uint16_t mtu = 0;
  MonotonicTime created{};
  MonotonicTime last_used{};
  MonotonicTime expires{};
  PeerCounters seen;  // counters at the last idle check
  bool used_since_refresh = false;
  TunnelLease lease;  // from Connecting on
  bool routed_via_peer = false;
  bool refresh_checked = false;  // Active: the 2/3 point passed unused, waiting for expiry
  std::unique_ptr<Timer> timer;
};

ShortcutManager::ShortcutManager(ShortcutConfig config, Resolver& resolver, TunnelPool& tunnels,
                                 ShortcutDataplane& dataplane, const Clock& clock, TimerFactory& timers)
    : config_(config),
      resolver_(resolver),
      tunnels_(tunnels),
      dataplane_(dataplane),
      clock_(clock),
      timers_(timers),
      start_rate_(config.indication_rate, 1),
      alive_(std::make_shared<bool>(true)) {
  idle_timer_ = timers_.make_timer([this] {
    check_idle();
    idle_timer_->arm(config_.idle_check_interval);
  });
  idle_timer_->arm(config_.idle_check_interval);
}

ShortcutManager::~ShortcutManager() { *alive_ = false; }

void ShortcutManager::on_traffic_indication(const IpAddress& destination) {
  ++stats_.indications;
  if (covering(destination) != nullptr || entries_.size() >= config_.max_shortcuts ||
      !start_rate_.try_take(kSingleBucket, clock_.now())) {
    ++stats_.indications_ignored;
    return;
  }
  const Prefix key = Prefix::host(destination);
  auto entry = std::make_unique<Entry>();
  entry->key = key;
  entry->target = destination;
  entry->created = clock_.now();
  entry->timer = timers_.make_timer([this, key] { on_timer(key); });
  entries_.emplace(key, std::move(entry));
  log::info(kLog, "resolving " + destination.to_string() + " after a traffic indication");
  resolver_.resolve(destination, [this, key, alive = std::weak_ptr<bool>(alive_)](const Resolution& result) {
    if (!alive.expired()) on_resolved(key, result);
  });
}

void ShortcutManager::on_resolved(const Prefix& key, const Resolution& result) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  if (entry.state == ShortcutState::Refreshing) {
    if (result.ok && result.peer_nbma == entry.peer_nbma) {
      entry.holding_time = result.holding_time;
      entry.expires = clock_.now() + std::chrono::seconds(result.holding_time);
      ++stats_.refreshed;
      transition(entry, ShortcutState::Active, "refreshed for " + std::to_string(result.holding_time) + " s");
    } else {
      transition(entry, ShortcutState::Closing,
                 result.ok ? "peer moved to " + result.peer_nbma.to_string() : "refresh failed: " + result.error);
    }
    return;
  }
  if (entry.state != ShortcutState::Resolving) return;
  if (!result.ok) {
    transition_to_failed(entry, FailureCause::Resolution, "resolution failed: " + result.error);
    return;
  }
  // The answer may cover more than the target (a spoke's LAN prefix): the
  // entry is keyed by what it routes from now on.
  const Prefix routed = result.prefix.length == 0 ? key : result.prefix;
  if (routed != key) {
    if (entries_.count(routed) != 0) {
      erase(key);  // another target already brought up the same prefix
      return;
    }
    auto node = entries_.extract(it);
    node.key() = routed;
    node.mapped()->key = routed;
    node.mapped()->timer = timers_.make_timer([this, routed] { on_timer(routed); });
    it = entries_.insert(std::move(node)).position;
  }
  Entry& moved = *it->second;
  moved.peer_nbma = result.peer_nbma;
  moved.peer_protocol = result.peer_protocol;
  moved.holding_time = result.holding_time;
  moved.mtu = result.mtu;
  moved.expires = clock_.now() + std::chrono::seconds(result.holding_time);
  transition(moved, ShortcutState::Connecting, "resolved to " + result.peer_nbma.to_string());
}

void ShortcutManager::transition(Entry& entry, ShortcutState to, const std::string& reason) {
  if (!legal(entry.state, to)) {
    log::error(kLog, "refused illegal transition " + std::string(to_string(entry.state)) + " -> " +
                         std::string(to_string(to)) + " for " + entry.key.to_string() + " (" + reason + ")");
    return;
  }
  log::info(kLog, entry.key.to_string() + (entry.peer_nbma.empty() ? "" : " via " + entry.peer_nbma.to_string()) +
                      ": " + std::string(to_string(entry.state)) + " -> " + std::string(to_string(to)) + " (" + reason +
                      ")");
  const ShortcutState from = entry.state;
  entry.state = to;
  ++stats_.transitions;
  const MonotonicTime now = clock_.now();
  switch (to) {
    case ShortcutState::Resolving:
      break;
    case ShortcutState::Connecting:
      // Issue #12: the peer must prove the tunnel address the resolution
      // named (its certificate's IP SAN), unless that address is the routed
      // prefix itself (an answer that names no separate next hop).
      if (!entry.peer_protocol.empty() &&
          (entry.key.length >= entry.key.address.bit_width() ||
           !entry.peer_protocol.shares_prefix(entry.key.address, entry.key.length))) {
        tunnels_.expect_identity(entry.peer_nbma, entry.peer_protocol.to_string());
      }
      entry.lease = tunnels_.lease(
          entry.peer_nbma, LeaseHolder::Shortcut,
          [this, key = entry.key](TunnelState state, const std::string& why) { on_tunnel(key, state, why); });
      if (tunnels_.up(entry.peer_nbma)) {
        transition(entry, ShortcutState::Active, "tunnel to the peer already up");
        return;
      }
      entry.timer->arm(config_.connect_timeout);
      break;
    case ShortcutState::Active:
      if (from == ShortcutState::Connecting) {
        // Make before break: only now does the prefix leave the hub path.
        dataplane_.route_via_peer(entry.key, entry.peer_nbma, entry.mtu);
        entry.routed_via_peer = true;
        entry.last_used = now;
        entry.seen = dataplane_.counters(entry.peer_nbma).value_or(PeerCounters{});
        ++stats_.established;
        stats_.setup_time.add(now - entry.created);
        failures_.erase(Prefix::host(entry.target));
      }
      entry.used_since_refresh = false;
      entry.refresh_checked = false;
      entry.timer->arm(std::max<Duration>(
          entry.expires - std::chrono::seconds(entry.holding_time) + refresh_point(entry.holding_time) - now,
          Duration::zero()));
      break;
    case ShortcutState::Refreshing:
      entry.timer->arm(std::max<Duration>(entry.expires - now, Duration::zero()));
      resolver_.resolve(entry.target,
                        [this, key = entry.key, alive = std::weak_ptr<bool>(alive_)](const Resolution& result) {
                          if (!alive.expired()) on_resolved(key, result);
                        });
      break;
    case ShortcutState::Closing:
      enter_closing(entry);
      break;
    case ShortcutState::Failed: {
      ++stats_.failed;
      entry.lease.reset();
      const auto backoff = backoff_for(Prefix::host(entry.target));
      entry.timer->arm(backoff);
      break;
    }
  }
}

void ShortcutManager::enter_closing(Entry& entry) {
  // Break after make: the hub path first, then the tunnel.
  if (entry.routed_via_peer) {
    dataplane_.route_via_hub(entry.key);
    entry.routed_via_peer = false;
  }
  erase(entry.key);  // its lease goes with it
}

void ShortcutManager::transition_to_failed(Entry& entry, FailureCause cause, const std::string& reason) {
  if (!legal(entry.state, ShortcutState::Failed)) {
    transition(entry, ShortcutState::Failed, reason);  // refused and logged there
    return;
  }
  ++stats_.failures[static_cast<std::size_t>(cause)];
  transition(entry, ShortcutState::Failed, reason);
}

void ShortcutManager::on_timer(const Prefix& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  switch (entry.state) {
    case ShortcutState::Resolving:
      break;  // the resolver always answers (with a timeout of its own)
    case ShortcutState::Connecting:
      transition_to_failed(entry, FailureCause::ConnectTimeout,
                           "tunnel not up within " + std::to_string(config_.connect_timeout.count()) + " s");
      break;
    case ShortcutState::Active:
      if (!entry.refresh_checked && entry.used_since_refresh) {
        transition(entry, ShortcutState::Refreshing, "in use at 2/3 of the holding time");
      } else if (!entry.refresh_checked) {
        entry.refresh_checked = true;  // unused: it simply expires (issue: "an unused one simply expires")
        entry.timer->arm(std::max<Duration>(entry.expires - clock_.now(), Duration::zero()));
      } else {
        transition(entry, ShortcutState::Closing, "holding time ended unused");
      }
      break;
    case ShortcutState::Refreshing:
      transition(entry, ShortcutState::Closing, "holding time ended before the refresh answered");
      break;
    case ShortcutState::Closing:
    case ShortcutState::Failed:
      erase(key);
      break;
  }
}

void ShortcutManager::check_idle() {
  const MonotonicTime now = clock_.now();
  std::vector<Prefix> idle;
  for (auto& [key, entry] : entries_) {
    if (entry->state != ShortcutState::Active && entry->state != ShortcutState::Refreshing) continue;
    const PeerCounters current = dataplane_.counters(entry->peer_nbma).value_or(PeerCounters{});
    if (current.packets_in != entry->seen.packets_in || current.packets_out != entry->seen.packets_out) {
      entry->last_used = now;
      entry->used_since_refresh = true;
    }
    entry->seen = current;
    if (now - entry->last_used >= config_.idle_timeout) idle.push_back(key);
  }
  for (const Prefix& key : idle) {
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    ++stats_.closed_idle;
    transition(*it->second, ShortcutState::Closing, "idle for " + std::to_string(config_.idle_timeout.count()) + " s");
  }
}

// From the entry's own lease (tunnel_pool.h): Failed means the pool gave
// the tunnel up after its bounded attempts.
void ShortcutManager::on_tunnel(const Prefix& key, TunnelState state, const std::string& reason) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  switch (state) {
    case TunnelState::Up:
      if (entry.state == ShortcutState::Connecting) transition(entry, ShortcutState::Active, "tunnel up");
      break;
    case TunnelState::Failed:
    case TunnelState::Down:
      if (entry.state == ShortcutState::Connecting) {
        transition_to_failed(entry,
                             state == TunnelState::Failed ? FailureCause::TunnelFailed : FailureCause::TunnelDown,
                             "tunnel " + std::string(state == TunnelState::Failed ? "failed" : "down") +
                                 (reason.empty() ? "" : ": " + reason));
      } else if (entry.state == ShortcutState::Active || entry.state == ShortcutState::Refreshing) {
        transition(entry, ShortcutState::Closing, "tunnel went down" + (reason.empty() ? "" : ": " + reason));
      }
      break;
  }
}

void ShortcutManager::on_purge(const IpAddress& address) {
  std::vector<Prefix> matching;
  for (const auto& [key, entry] : entries_) {
    if (key.contains(address) || entry->peer_protocol == address) matching.push_back(key);
  }
  for (const Prefix& key : matching) {
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    Entry& entry = *it->second;
    if (entry.state == ShortcutState::Connecting || entry.state == ShortcutState::Active ||
        entry.state == ShortcutState::Refreshing) {
      transition(entry, ShortcutState::Closing, "purged");
    } else if (entry.state == ShortcutState::Resolving) {
      erase(key);
    }
  }
}

void ShortcutManager::reconfigure(const ShortcutConfig& config) {
  config_ = config;
  start_rate_.set_rate(config_.indication_rate);
}

void ShortcutManager::close_all(const std::string& reason) {
  std::vector<Prefix> keys;
  for (const auto& [key, entry] : entries_) keys.push_back(key);
  for (const Prefix& key : keys) {
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    Entry& entry = *it->second;
    if (entry.state == ShortcutState::Connecting || entry.state == ShortcutState::Active ||
        entry.state == ShortcutState::Refreshing) {
      transition(entry, ShortcutState::Closing, reason);
    } else if (entry.state != ShortcutState::Closing) {
      erase(key);
    }
  }
}

void ShortcutManager::erase(const Prefix& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  entries_.erase(it);  // the entry's lease is released with it
}

ShortcutManager::Entry* ShortcutManager::covering(const IpAddress& address) {
  for (auto& [key, entry] : entries_) {
    if (key.contains(address)) return entry.get();
  }
  return nullptr;
}

std::chrono::seconds ShortcutManager::backoff_for(const Prefix& key) {
  const int failures = ++failures_[key];
  auto backoff = config_.failure_backoff;
  for (int i = 1; i < failures && backoff < config_.max_failure_backoff; ++i) backoff *= 2;
  if (failures_.size() > config_.max_shortcuts * 4) failures_.clear();  // bounded memory
  return std::min(backoff, config_.max_failure_backoff);
}

std::optional<ShortcutState> ShortcutManager::state_of(const Prefix& prefix) const {
  auto it = entries_.find(prefix);
  if (it == entries_.end()) return std::nullopt;
  return it->second->state;
}

std::vector<ShortcutInfo> ShortcutManager::list() const {
  std::vector<ShortcutInfo> out;
  const MonotonicTime now = clock_.now();
  for (const auto& [key, entry] : entries_) {
    ShortcutInfo info;
    info.prefix = key;
    info.state = entry->state;
    info.peer_nbma = entry->peer_nbma;
    info.peer_protocol = entry->peer_protocol;
    info.age = now - entry->created;
    info.idle = entry->routed_via_peer ? now - entry->last_used : Duration::zero();
    info.holding_time = entry->holding_time;
    if (entry->routed_via_peer) {
      const PeerCounters counters = dataplane_.counters(entry->peer_nbma).value_or(PeerCounters{});
      info.bytes_in = counters.bytes_in;
      info.bytes_out = counters.bytes_out;
    }
    out.push_back(info);
  }
  return out;
}

}  // namespace advpnd::shortcut
