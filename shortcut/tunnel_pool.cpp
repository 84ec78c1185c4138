#include "shortcut/tunnel_pool.h"

#include <algorithm>
#include <utility>

#include "base/log.h"

namespace advpnd::shortcut {
namespace {
constexpr std::string_view kLog = "tunnels";
}  // namespace

std::string_view to_string(LeaseHolder holder) {
  switch (holder) {
    case LeaseHolder::Nhs:
      return "nhs";
    case LeaseHolder::Shortcut:
      return "shortcut";
    case LeaseHolder::Reply:
      return "reply";
  }
  return "unknown";
}

std::string_view to_string(PoolTunnelState state) {
  switch (state) {
    case PoolTunnelState::Connecting:
      return "connecting";
    case PoolTunnelState::Up:
      return "up";
    case PoolTunnelState::GivenUp:
      return "given-up";
  }
  return "unknown";
}

TunnelLease::TunnelLease(TunnelLease&& other) noexcept
    : pool_(std::move(other.pool_)), peer_(other.peer_), id_(std::exchange(other.id_, 0)) {}

TunnelLease& TunnelLease::operator=(TunnelLease&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = std::move(other.pool_);
    peer_ = other.peer_;
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void TunnelLease::reset() {
  if (id_ == 0) return;
  const std::uint64_t id = std::exchange(id_, 0);
  if (auto pool = pool_.lock()) (*pool)->release(peer_, id);
  pool_.reset();
}

TunnelPool::TunnelPool(IpsecProvider& provider, TimerFactory& timers, TunnelPoolConfig config)
    : provider_(provider),
      timers_(timers),
      config_(config),
      self_(std::make_shared<TunnelPool*>(this)) {
  config_.max_attempts = std::max(config_.max_attempts, 1U);
  provider_.set_listener(
      [this](const IpAddress& peer, TunnelState state, const std::string& reason) { on_provider(peer, state, reason); });
  events_timer_ = timers_.make_timer([this] { flush(); });
}

TunnelPool::~TunnelPool() { detach(); }

void TunnelPool::detach() {
  self_.reset();
  provider_.set_listener(nullptr);
  events_.clear();
}

TunnelLease TunnelPool::lease(const IpAddress& peer, LeaseHolder holder, TunnelLease::Listener listener) {
  const std::uint64_t id = next_id_++;
  auto [it, created] = peers_.try_emplace(peer);
  Peer& entry = it->second;
  entry.holders.push_back(Holder{id, holder, std::move(listener)});
  if (created) {
    std::erase_if(given_up_, [&](const TunnelStatus& s) { return s.peer == peer; });
    log::info(kLog, peer.to_string() + ": tunnel wanted (" + std::string(to_string(holder)) + ")");
    provider_.ensure(peer);
  } else if (entry.state == PoolTunnelState::Up) {
    tell_later(id, TunnelState::Up, "tunnel already up");
  } else if (entry.state == PoolTunnelState::GivenUp) {
    // A new user after a give-up: a fresh round of attempts.
    entry.state = PoolTunnelState::Connecting;
    entry.failed_attempts = 0;
    provider_.ensure(peer);
  }
  return TunnelLease(self_, peer, id);
}

void TunnelPool::release(const IpAddress& peer, std::uint64_t id) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& entry = it->second;
  std::erase_if(entry.holders, [&](const Holder& h) { return h.id == id; });
  if (!entry.holders.empty()) return;
  const bool given_up = entry.state == PoolTunnelState::GivenUp;
  peers_.erase(it);
  if (given_up) return;  // terminated when given up
  ++stats_.terminated;
  log::info(kLog, peer.to_string() + ": last lease released; terminating the tunnel");
  provider_.terminate(peer);
}

bool TunnelPool::up(const IpAddress& peer) const {
  const auto it = peers_.find(peer);
  return it != peers_.end() && it->second.state == PoolTunnelState::Up;
}

bool TunnelPool::has_nhs(const Peer& peer) {
  return std::any_of(peer.holders.begin(), peer.holders.end(),
                     [](const Holder& h) { return h.kind == LeaseHolder::Nhs; });
}

void TunnelPool::on_provider(const IpAddress& address, TunnelState state, const std::string& reason) {
  auto it = peers_.find(address);
  if (it == peers_.end()) return;  // nobody holds it (a late report after terminate)
  Peer& peer = it->second;
  switch (state) {
    case TunnelState::Up:
      if (peer.state == PoolTunnelState::Up) return;
      if (peer.state == PoolTunnelState::GivenUp) return;  // terminated; the Up is stale
      peer.state = PoolTunnelState::Up;
      peer.failed_attempts = 0;
      peer.last_error.clear();
      peer.nhs_retry = Duration::zero();
      log::info(kLog, address.to_string() + ": tunnel up (" + reason + ")");
      tell_all(peer, TunnelState::Up, reason);
      return;
    case TunnelState::Down:
      if (peer.state == PoolTunnelState::GivenUp) return;
      peer.state = PoolTunnelState::Connecting;
      peer.last_error = "down: " + reason;
      if (has_nhs(peer)) schedule_nhs_retry(address, peer);
      tell_all(peer, TunnelState::Down, reason);
      return;
    case TunnelState::Failed:
      if (peer.state == PoolTunnelState::GivenUp) return;
      on_failed(address, peer, reason);
      return;
  }
}

// The provider keeps retrying by itself (vici/strongswan_provider.h); the
// pool bounds that for every tunnel but an NHS's.
void TunnelPool::on_failed(const IpAddress& address, Peer& peer, const std::string& reason) {
  if (peer.state == PoolTunnelState::Up) tell_all(peer, TunnelState::Down, reason);
  peer.state = PoolTunnelState::Connecting;
  ++peer.failed_attempts;
  peer.last_error = "failed: " + reason;
  if (has_nhs(peer)) {
    log::warning(kLog, address.to_string() + ": NHS tunnel attempt " + std::to_string(peer.failed_attempts) +
                           " failed (" + reason + "); retrying");
    tell_all(peer, TunnelState::Failed, reason);
    return;
  }
  if (peer.failed_attempts < config_.max_attempts) {
    log::info(kLog, address.to_string() + ": tunnel attempt " + std::to_string(peer.failed_attempts) + " of " +
                        std::to_string(config_.max_attempts) + " failed (" + reason + ")");
    return;
  }
  give_up(address, peer);
}

void TunnelPool::give_up(const IpAddress& address, Peer& peer) {
  peer.state = PoolTunnelState::GivenUp;
  std::array<bool, kLeaseHolders> kinds{};
  for (const Holder& h : peer.holders) kinds[static_cast<std::size_t>(h.kind)] = true;
  for (std::size_t k = 0; k < kLeaseHolders; ++k) stats_.given_up[k] += kinds[k] ? 1 : 0;
  const std::string why = "given up after " + std::to_string(peer.failed_attempts) + " failed attempts (" +
                          peer.last_error + ")";
  log::warning(kLog, address.to_string() + ": tunnel " + why);
  provider_.terminate(address);  // stops the provider's own retries
  given_up_.push_back(status_of(address, peer));
  given_up_.back().leases = {};
  while (given_up_.size() > config_.given_up_kept) given_up_.pop_front();
  tell_all(peer, TunnelState::Failed, why);
}

void TunnelPool::schedule_nhs_retry(const IpAddress& address, Peer& peer) {
  peer.nhs_retry = peer.nhs_retry == Duration::zero() ? config_.nhs_retry_initial
                                                      : std::min(peer.nhs_retry * 2, config_.nhs_retry_max);
  if (!peer.retry_timer) {
    peer.retry_timer = timers_.make_timer([this, address] {
      auto it = peers_.find(address);
      if (it != peers_.end() && it->second.state != PoolTunnelState::Up) provider_.ensure(address);
    });
  }
  log::warning(kLog, address.to_string() + ": NHS tunnel down (" + peer.last_error + "); again in " +
                         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(peer.nhs_retry).count()) +
                         " ms");
  peer.retry_timer->arm(peer.nhs_retry);
}

void TunnelPool::tell_all(const Peer& peer, TunnelState state, const std::string& reason) {
  for (const Holder& h : peer.holders) tell_later(h.id, state, reason);
}

void TunnelPool::tell_later(std::uint64_t holder, TunnelState state, std::string reason) {
  events_.push_back(Event{holder, state, std::move(reason)});
  events_timer_->arm(Duration::zero());
}

const TunnelPool::Holder* TunnelPool::find_holder(std::uint64_t id) const {
  for (const auto& [address, peer] : peers_) {
    for (const Holder& h : peer.holders) {
      if (h.id == id) return &h;
    }
  }
  return nullptr;
}

// A holder may release its lease (or take others) from its listener: each
// one is looked up again before it is called.
void TunnelPool::flush() {
  auto events = std::move(events_);
  events_.clear();
  for (const Event& event : events) {
    const Holder* holder = find_holder(event.holder);
    if (holder == nullptr || !holder->listener) continue;
    auto listener = holder->listener;
    listener(event.state, event.reason);
  }
}

TunnelStatus TunnelPool::status_of(const IpAddress& address, const Peer& peer) {
  TunnelStatus s;
  s.peer = address;
  s.state = peer.state;
  for (const Holder& h : peer.holders) ++s.leases[static_cast<std::size_t>(h.kind)];
  s.failed_attempts = peer.failed_attempts;
  s.last_error = peer.last_error;
  return s;
}

std::vector<TunnelStatus> TunnelPool::status() const {
  std::vector<TunnelStatus> out;
  for (const auto& [address, peer] : peers_) out.push_back(status_of(address, peer));
  for (const TunnelStatus& s : given_up_) {
    if (!peers_.contains(s.peer)) out.push_back(s);
  }
  return out;
}

std::optional<TunnelStatus> TunnelPool::status(const IpAddress& peer) const {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return status_of(peer, it->second);
}

}  // namespace advpnd::shortcut
