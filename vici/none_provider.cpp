#include "vici/none_provider.h"

#include "base/log.h"

namespace advpnd::vici {

using shortcut::TunnelState;

NoneProvider::NoneProvider(TimerFactory& timers) : timer_(timers.make_timer([this] { flush(); })) {
  log::warning("ipsec-none",
               "IPsec provider 'none': spoke-to-spoke GRE is sent in CLEAR TEXT, unauthenticated and unencrypted; "
               "anyone on the path can read and inject overlay traffic. Use it only in a lab or over an underlay "
               "that is already protected.");
}

NoneProvider::~NoneProvider() = default;

void NoneProvider::ensure(const IpAddress& peer) {
  if (!up_.insert(peer).second) return;  // up or about to be: idempotent
  post(peer, TunnelState::Up);
}

void NoneProvider::terminate(const IpAddress& peer) {
  up_.erase(peer);
  post(peer, TunnelState::Down);
}

std::optional<shortcut::TunnelCounters> NoneProvider::counters(const IpAddress& /*peer*/) const {
  return std::nullopt;
}

void NoneProvider::post(const IpAddress& peer, TunnelState state) {
  notices_.push_back(Notice{peer, state});
  if (!timer_->armed()) timer_->arm(Duration::zero());
}

void NoneProvider::flush() {
  std::weak_ptr<int> alive = alive_;
  std::deque<Notice> notices;
  notices.swap(notices_);
  for (const auto& notice : notices) {
    if (!listener_) continue;
    auto listener = listener_;  // may replace itself or destroy this
    listener(notice.peer, notice.state, notice.state == TunnelState::Up ? "clear GRE (provider none)" : "terminated");
    if (alive.expired()) return;
  }
}

}  // namespace advpnd::vici
