#include "agent/nhs_tunnels.h"

#include "base/log.h"

namespace advpnd::agent {
namespace {
constexpr std::string_view kLog = "spoke";
using shortcut::TunnelState;
}  // namespace

NhsTunnels::NhsTunnels(shortcut::IpsecProvider& provider, TimerFactory& timers, PathUp path_up)
    : provider_(provider), timers_(timers), path_up_(std::move(path_up)) {
  provider_.set_listener([this](const IpAddress& peer, TunnelState state, const std::string& reason) {
    on_tunnel(peer, state, reason);
  });
  retry_timer_ = timers_.make_timer([this] {
    auto peers = std::move(retry_);
    retry_.clear();
    for (const auto& peer : peers) provider_.ensure(peer);
  });
  deferred_timer_ = timers_.make_timer([this] { flush_deferred(); });
}

NhsTunnels::~NhsTunnels() { provider_.set_listener(nullptr); }

void NhsTunnels::start(const std::vector<IpAddress>& nhs_nbmas) {
  for (const auto& nbma : nhs_nbmas) {
    if (!nhs_.insert(nbma).second) continue;
    log::info(kLog, "NHS " + nbma.to_string() + ": bringing up its tunnel (" + std::string(provider_.name()) + ")");
    provider_.ensure(nbma);
  }
}

void NhsTunnels::terminate(const IpAddress& peer) {
  if (!nhs_.contains(peer)) return provider_.terminate(peer);
  // The tunnel to an NHS outlives any shortcut that happened to use it.
  log::info(kLog, "shortcut to NHS " + peer.to_string() + " closed; its tunnel stays up");
  deferred_down_.push_back(peer);
  deferred_timer_->arm(Duration::zero());
}

void NhsTunnels::flush_deferred() {
  auto peers = std::move(deferred_down_);
  deferred_down_.clear();
  for (const auto& peer : peers) {
    if (shortcut_listener_) shortcut_listener_(peer, TunnelState::Down, "shortcut closed (NHS tunnel kept)");
  }
}

void NhsTunnels::on_tunnel(const IpAddress& peer, TunnelState state, const std::string& reason) {
  if (nhs_.contains(peer)) {
    switch (state) {
      case TunnelState::Up:
        if (up_.insert(peer).second) {
          log::info(kLog, "NHS " + peer.to_string() + ": tunnel up (" + reason + ")");
          if (path_up_) path_up_(peer);
        }
        break;
      case TunnelState::Down:
        up_.erase(peer);
        log::warning(kLog, "NHS " + peer.to_string() + ": tunnel down (" + reason + "); bringing it up again");
        retry_.insert(peer);
        retry_timer_->arm(kNhsRetry);
        break;
      case TunnelState::Failed:
        // The provider retries a failed attempt by itself, with backoff.
        up_.erase(peer);
        log::warning(kLog, "NHS " + peer.to_string() + ": tunnel failed (" + reason + ")");
        break;
    }
  }
  if (shortcut_listener_) {
    auto listener = shortcut_listener_;  // it may replace itself
    listener(peer, state, reason);
  }
}

}  // namespace advpnd::agent
