#include "agent/tunnel_broker.h"

#include "base/log.h"

namespace advpnd::agent {
namespace {
constexpr std::string_view kLog = "spoke";
using shortcut::LeaseHolder;
using shortcut::TunnelState;

std::uint64_t packets(const std::optional<shortcut::TunnelCounters>& counters) {
  return counters ? counters->packets_in + counters->packets_out : 0;
}
}  // namespace

TunnelBroker::TunnelBroker(shortcut::IpsecProvider& provider, const Clock& clock, TimerFactory& timers,
                           PathChanged path_changed, TunnelBrokerConfig config)
    : clock_(clock),
      timers_(timers),
      config_(config),
      pool_(provider, timers, config.pool),
      path_changed_(std::move(path_changed)) {}

TunnelBroker::~TunnelBroker() {
  pool_.detach();
  replies_.clear();
  nhs_.clear();
}

void TunnelBroker::start(const std::vector<IpAddress>& nhs_nbmas) {
  for (const auto& nbma : nhs_nbmas) {
    if (nhs_.contains(nbma)) continue;
    log::info(kLog, "NHS " + nbma.to_string() + ": bringing up its tunnel (" + std::string(name()) + ")");
    nhs_.emplace(nbma, pool_.lease(nbma, LeaseHolder::Nhs, [this, nbma](TunnelState state, const std::string& why) {
      if (state == TunnelState::Up) {
        log::info(kLog, "NHS " + nbma.to_string() + ": tunnel up (" + why + ")");
      } else {
        log::warning(kLog, "NHS " + nbma.to_string() + ": tunnel " + (state == TunnelState::Down ? "down" : "failed") +
                               " (" + why + ")");
      }
      if (path_changed_) path_changed_(nbma, state == TunnelState::Up);
    }));
  }
}

std::string TunnelBroker::nhs_tunnel_error(const IpAddress& nhs_nbma) const {
  const auto status = pool_.status(nhs_nbma);
  if (!status || status->state == shortcut::PoolTunnelState::Up) return {};
  return status->last_error;
}

void TunnelBroker::when_up(const IpAddress& peer, std::function<void()> action, std::function<bool()> fallback) {
  auto it = replies_.find(peer);
  if (it == replies_.end()) {
    auto reply = std::make_unique<Reply>();
    reply->timer = timers_.make_timer([this, peer] { on_reply_timer(peer); });
    reply->created = clock_.now();
    reply->timer->arm(kReplyFallback);
    it = replies_.emplace(peer, std::move(reply)).first;
    it->second->lease = pool_.lease(peer, LeaseHolder::Reply, [this, peer](TunnelState state, const std::string& why) {
      on_reply_tunnel(peer, state, why);
    });
  }
  Reply& reply = *it->second;
  if (pool_.up(peer)) {
    action();
    if (!reply.sent) run_waiting(peer, reply);
    return;
  }
  if (reply.waiting.size() >= kMaxWaitingPerPeer) {
    log::debug(kLog, "tunnel to " + peer.to_string() + ": " + std::to_string(reply.waiting.size()) +
                         " actions waiting already; dropping one more");
    return;
  }
  reply.waiting.push_back(std::move(action));
  if (fallback) reply.fallbacks.push_back(std::move(fallback));
}

void TunnelBroker::on_reply_tunnel(const IpAddress& peer, TunnelState state, const std::string& reason) {
  auto it = replies_.find(peer);
  if (it == replies_.end()) return;
  if (state == TunnelState::Up) {
    run_waiting(peer, *it->second);
    return;
  }
  if (state == TunnelState::Failed) {
    if (!it->second->sent && send_via_nhs(peer, "tunnel failed (" + reason + ")")) return;
    drop_reply(peer, "tunnel failed (" + reason + ")");
  } else if (it->second->sent) {
    drop_reply(peer, "tunnel down (" + reason + ")");
  }
}

// The tunnel is up: every waiting reply goes out, and once more
// kRepeatAfterSetup later (see the header); from now on the lease lasts
// while the tunnel carries traffic.
void TunnelBroker::run_waiting(const IpAddress& peer, Reply& reply) {
  auto actions = std::move(reply.waiting);
  reply.waiting.clear();
  if (!reply.sent) {
    reply.sent = true;
    reply.last_used = clock_.now();
    reply.last_packets = packets(pool_.counters(peer));
    reply.timer->arm(kReplyIdleCheck);
  }
  std::erase_if(repeats_, [](const auto& timer) { return !timer->armed(); });
  for (auto& action : actions) {
    action();
    auto& repeat = repeats_.emplace_back(timers_.make_timer([this, peer, action = std::move(action)] {
      if (pool_.up(peer)) action();
    }));
    repeat->arm(kRepeatAfterSetup);
  }
}

void TunnelBroker::on_reply_timer(const IpAddress& peer) {
  auto it = replies_.find(peer);
  if (it == replies_.end()) return;
  Reply& reply = *it->second;
  if (!reply.sent) {
    const auto waited = [](Duration d) {
      return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
    };
    const Duration waiting = clock_.now() - reply.created;
    if (waiting < kReplyWait) {
      if (send_via_nhs(peer, "not up within " + waited(kReplyFallback))) return;
      reply.timer->arm(kReplyWait - waiting);
      return;
    }
    drop_reply(peer, "not up within " + waited(kReplyWait));
    return;
  }
  // Only a rise is traffic: the sum over the peer's SAs falls when a
  // duplicate SA goes (one SA per pair, vici/duplicate_sa.h) or one is
  // replaced, and that must not keep an idle tunnel (seen in e2e idle_expiry).
  const std::uint64_t now_packets = packets(pool_.counters(peer));
  if (now_packets > reply.last_packets) reply.last_used = clock_.now();
  reply.last_packets = now_packets;
  if (clock_.now() - reply.last_used >= config_.reply_idle) {
    log::info(kLog, "tunnel to " + peer.to_string() + " set up for a reply: idle, released");
    replies_.erase(it);
    return;
  }
  reply.timer->arm(kReplyIdleCheck);
}

void TunnelBroker::drop_reply(const IpAddress& peer, const std::string& why) {
  auto it = replies_.find(peer);
  if (it == replies_.end()) return;
  if (!it->second->waiting.empty()) {
    replies_dropped_ += it->second->waiting.size();
    log::info(kLog, "tunnel to " + peer.to_string() + " " + why + ": " + std::to_string(it->second->waiting.size()) +
                        " waiting reply(s) dropped");
  } else {
    log::info(kLog, "tunnel to " + peer.to_string() + " set up for a reply: " + why + ", released");
  }
  replies_.erase(it);  // the lease with it
}

bool TunnelBroker::send_via_nhs(const IpAddress& peer, const std::string& why) {
  auto it = replies_.find(peer);
  if (it == replies_.end()) return false;
  auto fallbacks = std::move(it->second->fallbacks);
  it->second->fallbacks.clear();
  std::size_t sent = 0;
  for (auto& fallback : fallbacks) sent += fallback() ? 1 : 0;
  if (sent == 0) return false;
  replies_via_nhs_ += sent;
  log::info(kLog, "tunnel to " + peer.to_string() + " " + why + ": " + std::to_string(sent) +
                      " reply(s) sent through the NHS instead (the requester initiates)");
  it->second->waiting.clear();
  replies_.erase(it);  // stop trying to reach it: the lease with it
  return true;
}

}  // namespace advpnd::agent
