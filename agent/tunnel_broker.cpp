#include "agent/tunnel_broker.h"

#include "base/log.h"

namespace advpnd::agent {
namespace {
constexpr std::string_view kLog = "spoke";
using shortcut::TunnelState;
}  // namespace

TunnelBroker::TunnelBroker(shortcut::IpsecProvider& provider, TimerFactory& timers, PathUp path_up)
    : provider_(provider), timers_(timers), path_up_(std::move(path_up)) {
  provider_.set_listener(
      [this](const IpAddress& peer, TunnelState state, const std::string& reason) { on_tunnel(peer, state, reason); });
  retry_timer_ = timers_.make_timer([this] {
    auto peers = std::move(retry_);
    retry_.clear();
    for (const auto& peer : peers) provider_.ensure(peer);
  });
  deferred_timer_ = timers_.make_timer([this] { flush_deferred(); });
}

TunnelBroker::~TunnelBroker() { provider_.set_listener(nullptr); }

void TunnelBroker::start(const std::vector<IpAddress>& nhs_nbmas) {
  for (const auto& nbma : nhs_nbmas) {
    if (!nhs_.insert(nbma).second) continue;
    log::info(kLog, "NHS " + nbma.to_string() + ": bringing up its tunnel (" + std::string(provider_.name()) + ")");
    provider_.ensure(nbma);
  }
}

void TunnelBroker::when_up(const IpAddress& peer, std::function<void()> action) {
  if (up_.contains(peer)) {
    action();
    return;
  }
  auto& queue = waiting_[peer];
  if (queue.size() >= kMaxWaitingPerPeer) {
    log::debug(kLog, "tunnel to " + peer.to_string() + ": " + std::to_string(queue.size()) +
                         " actions waiting already; dropping one more");
    return;
  }
  queue.push_back(std::move(action));
  provider_.ensure(peer);
}

void TunnelBroker::ensure(const IpAddress& peer) {
  provider_.ensure(peer);
  // The provider reports Up once per tunnel; a tunnel that is up for
  // another user is up for the shortcut layer too.
  if (up_.contains(peer)) tell_shortcuts_later(peer, TunnelState::Up, "tunnel already up");
}

void TunnelBroker::terminate(const IpAddress& peer) {
  if (!nhs_.contains(peer)) return provider_.terminate(peer);
  // The tunnel to an NHS outlives any shortcut that happened to use it.
  log::info(kLog, "shortcut to NHS " + peer.to_string() + " closed; its tunnel stays up");
  tell_shortcuts_later(peer, TunnelState::Down, "shortcut closed (NHS tunnel kept)");
}

void TunnelBroker::tell_shortcuts_later(const IpAddress& peer, TunnelState state, std::string reason) {
  deferred_.push_back({peer, state, std::move(reason)});
  deferred_timer_->arm(Duration::zero());
}

void TunnelBroker::flush_deferred() {
  auto events = std::move(deferred_);
  deferred_.clear();
  for (const auto& event : events) {
    if (shortcut_listener_) shortcut_listener_(event.peer, event.state, event.reason);
  }
}

void TunnelBroker::on_tunnel(const IpAddress& peer, TunnelState state, const std::string& reason) {
  const bool nhs = nhs_.contains(peer);
  if (state == TunnelState::Up) {
    const bool first = up_.insert(peer).second;
    if (nhs) nhs_errors_.erase(peer);
    if (nhs && first) {
      log::info(kLog, "NHS " + peer.to_string() + ": tunnel up (" + reason + ")");
      if (path_up_) path_up_(peer);
    }
    if (auto it = waiting_.find(peer); it != waiting_.end()) {
      auto actions = std::move(it->second);
      waiting_.erase(it);
      std::erase_if(repeats_, [](const auto& timer) { return !timer->armed(); });
      for (auto& action : actions) {
        action();
        auto& repeat = repeats_.emplace_back(timers_.make_timer([this, peer, action = std::move(action)] {
          if (up_.contains(peer)) action();
        }));
        repeat->arm(kRepeatAfterSetup);
      }
    }
  } else {
    up_.erase(peer);
    if (auto it = waiting_.find(peer); it != waiting_.end()) {
      log::info(kLog, "tunnel to " + peer.to_string() + " " + (state == TunnelState::Down ? "down" : "failed") + " (" +
                          reason + "): " + std::to_string(it->second.size()) + " waiting reply(s) dropped");
      waiting_.erase(it);
    }
    if (nhs) nhs_errors_[peer] = std::string(state == TunnelState::Down ? "down: " : "failed: ") + reason;
    if (nhs && state == TunnelState::Down) {
      log::warning(kLog, "NHS " + peer.to_string() + ": tunnel down (" + reason + "); bringing it up again");
      retry_.insert(peer);
      retry_timer_->arm(kNhsRetry);
    } else if (nhs) {
      log::warning(kLog, "NHS " + peer.to_string() + ": tunnel failed (" + reason + ")");
    }
  }
  if (shortcut_listener_) {
    auto listener = shortcut_listener_;  // it may replace itself
    listener(peer, state, reason);
  }
}

}  // namespace advpnd::agent
