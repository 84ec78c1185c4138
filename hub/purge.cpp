// Purge Request/Reply (RFC 2332 5.2.5, 5.2.6; NHRP-WIRE.md 8.4). A spoke
// purges its own registration; the hub purges what it gave to resolvers
// when a binding is replaced, removed or expires, retransmitting until a
// Purge Reply arrives (retransmission "is a local matter").
#include <algorithm>

#include "base/log.h"
#include "hub/next_hop_server.h"

namespace advpnd::hub {
namespace {
constexpr std::string_view kLog = "nhs";
}

void NextHopServer::handle_purge_request(const NbmaFrame& frame, const nhrp::Packet& request) {
  if (!authenticated(frame, request)) return;
  std::size_t removed = 0;
  for (const nhrp::Cie& cie : request.cies) {
    const IpAddress protocol = cie.protocol.empty() ? request.src_protocol : cie.protocol;
    // A station may purge only what it registered itself: the claimed NBMA
    // and the address it really sends from (two spokes behind different
    // NATs may claim the same private NBMA) must both match.
    for (const db::Binding* binding : cache_.find_nbma(request.src_nbma)) {
      if (binding->key.protocol != protocol) continue;
      if (!binding->post_nat_nbma.empty() && binding->post_nat_nbma != frame.outer_source) continue;
      if (cie.prefix_length != 0 && cie.prefix_length < protocol.bit_width() &&
          binding->key.prefix_len != cie.prefix_length) {
        continue;
      }
      if (staged_state(binding->key) != nullptr) continue;
      stage_removal(*binding, db::AuditKind::Purged, "purge request from " + frame.outer_source.to_string());
      open_.log.push_back("purged " + protocol.to_string() + " at " + request.src_nbma.to_string());
      ++removed;
    }
  }
  if (removed == 0) stats_.count_error("purge matched no binding");
  // RFC 2332 5.2.5: reply unless N is set, even when nothing matched; held
  // until the removal has committed.
  if ((request.flags & nhrp::flags::kPurgeN) == 0) {
    open_.replies.push_back({frame.outer_source, nhrp::build_purge_reply(request, sender()), false});
  }
}

void NextHopServer::handle_purge_reply(const NbmaFrame& frame, const nhrp::Packet& reply) {
  if (!authenticated(frame, reply)) return;
  // Only the station the purge went to can end its retransmission.
  auto it = purges_.find(reply.request_id);
  if (it == purges_.end() || it->second.destination != frame.outer_source) {
    stats_.count_error("purge reply for no request");
    return;
  }
  purges_.erase(it);
}

void NextHopServer::purge_resolvers(const db::Binding& binding) {
  auto it = resolvers_.find(binding.key);
  if (it == resolvers_.end()) return;
  const std::int64_t now = steady_unix_seconds();
  for (const auto& [nbma, resolver] : it->second) {
    if (resolver.until <= now) continue;
    nhrp::PurgeRequestSpec spec;
    spec.sender = sender();
    spec.dst_protocol = resolver.protocol;
    spec.request_id = next_request_id_++;
    nhrp::Cie cie;
    cie.prefix_length = binding.key.prefix_len;
    cie.nbma = binding.key.nbma;
    cie.protocol = binding.key.protocol;
    spec.cies.push_back(cie);
    OutstandingPurge purge{nbma, nhrp::build_purge_request(spec), 1, clock_.now() + config_.purge_retry};
    send(purge.destination, purge.request);
    if (config_.purge_attempts > 1) purges_.emplace(spec.request_id, std::move(purge));
  }
  resolver_count_ -= it->second.size();
  resolvers_.erase(it);
  if (!purges_.empty() && !purge_timer_->armed()) purge_timer_->arm(config_.purge_retry);
}

bool NextHopServer::remember_resolver(const db::BindingKey& key, const IpAddress& nbma, const IpAddress& protocol,
                                      std::int64_t until, std::int64_t stored_until) {
  auto& requesters = resolvers_[key];
  auto [slot, inserted] = requesters.try_emplace(nbma);
  if (inserted) {
    if (resolver_count_ >= kMaxResolvers) {
      requesters.erase(slot);
      if (requesters.empty()) resolvers_.erase(key);
      stats_.count_error("resolver table full");
      ++stats_.resolvers_untracked;
      log_throttle_.write(clock_.now(), log::Level::Warning, kLog, "resolver table full",
                          "resolver table full (" + std::to_string(kMaxResolvers) + "): " + nbma.to_string() +
                              " will not be purged when " + key.protocol.to_string() + " changes");
      return false;
    }
    ++resolver_count_;
  }
  Resolver& resolver = slot->second;
  resolver.protocol = protocol;
  resolver.until = std::max(resolver.until, until);
  resolver.stored_until = std::max(resolver.stored_until, stored_until);
  if (resolver.until > resolver.stored_until) {
    // Written with the next group commit (issue #10 item 6).
    (void)store_.stage_resolver(db::ResolverRecord{key, nbma, protocol, resolver.until});
    resolver.stored_until = resolver.until;
  }
  return true;
}

void NextHopServer::retry_purges() {
  const MonotonicTime now = clock_.now();
  for (auto it = purges_.begin(); it != purges_.end();) {
    OutstandingPurge& purge = it->second;
    if (purge.next_try > now) {
      ++it;
      continue;
    }
    send(purge.destination, purge.request);
    ++purge.attempts;
    purge.next_try = now + config_.purge_retry * (1 << purge.attempts);
    if (purge.attempts >= config_.purge_attempts) {
      log::info(kLog, "no purge reply from " + purge.destination.to_string() + " after " +
                          std::to_string(purge.attempts) + " attempts");
      it = purges_.erase(it);
    } else {
      ++it;
    }
  }
  if (!purges_.empty()) purge_timer_->arm(config_.purge_retry);
}

}  // namespace advpnd::hub
