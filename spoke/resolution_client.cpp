#include "spoke/resolution_client.h"

#include <algorithm>

#include "base/log.h"
#include "spoke/nat_extension.h"

namespace advpnd::spoke {
namespace {
constexpr std::string_view kLog = "nhc";

ResolutionResult failure(const IpAddress& target, ResolutionStatus status, std::string error) {
  ResolutionResult r;
  r.status = status;
  r.target = target;
  r.error = std::move(error);
  return r;
}

// RFC 2332 5.2.1: prefix 0 or 0xFF means "host"; FRR treats >= the width so too.
std::uint8_t covered_length(std::uint8_t prefix_length, const IpAddress& target) {
  const auto width = static_cast<std::uint8_t>(target.bit_width());
  return (prefix_length == 0 || prefix_length >= width) ? width : prefix_length;
}
}  // namespace

std::string_view to_string(ResolutionStatus status) {
  switch (status) {
    case ResolutionStatus::Resolved:
      return "resolved";
    case ResolutionStatus::Refused:
      return "refused";
    case ResolutionStatus::NegativeCached:
      return "negative cached";
    case ResolutionStatus::ErrorIndication:
      return "error indication";
    case ResolutionStatus::Timeout:
      return "timeout";
    case ResolutionStatus::RateLimited:
      return "rate limited";
    case ResolutionStatus::TooManyOutstanding:
      return "too many outstanding";
    case ResolutionStatus::NoNhs:
      return "no NHS up";
    case ResolutionStatus::SendFailed:
      return "send failed";
  }
  return "unknown";
}

ResolutionClient::ResolutionClient(ResolutionConfig config, const NhsSet& servers, PacketSender& sender,
                                   RequestIds& ids, const Clock& clock, TimerFactory& timers)
    : config_(std::move(config)),
      servers_(servers),
      sender_(sender),
      ids_(ids),
      clock_(clock),
      jitter_(config_.jitter, config_.seed),
      rate_(config_.rate),
      negative_(config_.max_negative_entries) {
  retransmit_timer_ = timers.make_timer([this] { on_timer(); });
  deferred_timer_ = timers.make_timer([this] { flush_deferred(); });
}

void ResolutionClient::resolve(const IpAddress& target, ResolveCallback done) {
  const MonotonicTime now = clock_.now();
  if (auto coalesced = by_target_.find(target); coalesced != by_target_.end()) {
    pending_.at(coalesced->second).callbacks.push_back(std::move(done));
    return;
  }
  if (auto until = negative_.blocked_until(target, now)) {
    ResolutionResult r = failure(target, ResolutionStatus::NegativeCached, "negative cached");
    r.code = nhrp::CieCode::NoBindingExists;
    return defer(std::move(done), std::move(r));
  }
  if (pending_.size() >= config_.max_outstanding) {
    sender_.stats().count_error("resolution: too many outstanding");
    return defer(std::move(done), failure(target, ResolutionStatus::TooManyOutstanding,
                                          std::to_string(pending_.size()) + " requests outstanding"));
  }
  if (servers_.primary() == nullptr) {
    return defer(std::move(done), failure(target, ResolutionStatus::NoNhs, "no NHS registered"));
  }
  if (!rate_.try_take(now)) {
    sender_.stats().count_error("resolution: rate limited");
    return defer(std::move(done), failure(target, ResolutionStatus::RateLimited, "resolution rate limited"));
  }
  const std::uint32_t id = ids_.next();
  Pending& pending = pending_[id];
  pending.target = target;
  pending.callbacks.push_back(std::move(done));
  pending.give_up_at = now + kResolutionGiveUp;
  pending.retransmit = kResolutionFirstRetransmit;
  by_target_[target] = id;
  if (!send(id, pending)) {
    finish(id, failure(target, ResolutionStatus::SendFailed, "could not send the request"));
    return;
  }
  schedule();
}

nhrp::Packet ResolutionClient::build_request(std::uint32_t id, const IpAddress& target) const {
  nhrp::ResolutionRequestSpec spec;
  spec.sender = config_.self;
  spec.target = target;
  spec.request_id = id;
  spec.holding_time = config_.holding_time;
  spec.mtu = config_.mtu;
  // FRR puts our post-NAT NBMA in the NAT extension when known (7.6).
  if (IpAddress nat = servers_.own_nat_address(); !nat.empty()) spec.own_nat_nbma = nat;
  return nhrp::build_resolution_request(spec);
}

// Sends (or resends, same ID) through the primary NHS of the moment.
bool ResolutionClient::send(std::uint32_t id, Pending& pending) {
  const NhsRegistration* nhs = servers_.primary();
  ++pending.attempts;
  pending.next_send = clock_.now() + jitter_.apply(pending.retransmit);
  if (nhs == nullptr) return true;  // retried when the timer fires; maybe an NHS is up by then
  ++requests_sent_;
  return sender_.send(nhs->nbma(), build_request(id, pending.target));
}

void ResolutionClient::on_reply(const NbmaFrame& frame, const nhrp::Packet& reply) {
  auto it = pending_.find(reply.request_id);
  // Replies keep the request's source: ours (RFC 2332 5.2.2, NHRP-WIRE.md 8.2).
  if (it == pending_.end() || reply.src_protocol != config_.self.protocol) {
    sender_.stats().count_error("resolution reply for no request");
    return;
  }
  ResolutionResult result = result_from_reply(it->second, frame, reply);
  if (result.status == ResolutionStatus::Refused && nhrp::is_no_binding(result.code)) {
    const Duration hold = negative_.add(result.target, clock_.now());
    result.error += ", negative cached for " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(hold).count()) + " s";
  }
  finish(reply.request_id, result);
}

ResolutionResult ResolutionClient::result_from_reply(const Pending& pending, const NbmaFrame& frame,
                                                     const nhrp::Packet& reply) const {
  ResolutionResult r;
  r.target = pending.target;
  r.answered_by = frame.outer_source;
  if (reply.cies.empty()) {
    r.status = ResolutionStatus::Refused;
    r.code = nhrp::CieCode::NoBindingExists;
    r.error = "reply without a CIE";
    return r;
  }
  const nhrp::Cie& cie = reply.cies.front();
  r.code = cie.code;
  if (cie.code != nhrp::CieCode::Success) {
    r.status = ResolutionStatus::Refused;
    r.error = "NAK code " + std::to_string(static_cast<unsigned>(cie.code)) + " (" +
              std::string(nhrp::to_string(cie.code)) + ")";
    return r;
  }
  r.status = ResolutionStatus::Resolved;
  r.prefix_length = covered_length(cie.prefix_length, pending.target);
  r.prefix = pending.target.masked(r.prefix_length);
  r.holding_time = cie.holding_time != 0 ? cie.holding_time : config_.holding_time;
  r.mtu = cie.mtu;
  r.protocol = cie.protocol.empty() ? pending.target : cie.protocol;
  r.claimed_nbma = cie.nbma.empty() ? reply.src_nbma : cie.nbma;
  r.nbma = r.claimed_nbma;
  // NHRP-WIRE.md 7.6: the NAT CIE whose protocol address is the answer's
  // gives the NBMA that reaches it. Without one, FRR's fallback: a reply
  // straight from the responder (not an NHS) came from where it really is.
  if (const nhrp::Cie* nat = nat_cie_for(reply, r.protocol)) {
    r.nbma = nat->nbma;
  } else if (frame.outer_source != r.claimed_nbma && !servers_.is_nhs(frame.outer_source)) {
    r.nbma = frame.outer_source;
  }
  return r;
}

void ResolutionClient::on_error_indication(std::uint32_t quoted_request_id, const nhrp::Packet& indication) {
  auto it = pending_.find(quoted_request_id);
  if (it == pending_.end()) return;
  ResolutionResult r = failure(it->second.target, ResolutionStatus::ErrorIndication,
                               "error indication " + std::to_string(static_cast<unsigned>(indication.error_code)) +
                                   " (" + std::string(nhrp::to_string(indication.error_code)) + ")");
  r.error_code = indication.error_code;
  // NHRP-WIRE.md 8.3 step 6: "protocol address unreachable" is a negative answer.
  if (indication.error_code == nhrp::ErrorCode::ProtocolAddressUnreachable) {
    negative_.add(r.target, clock_.now());
  }
  finish(quoted_request_id, r);
}

// Removes the request from both tables, then runs its callbacks (which may
// call resolve() again).
void ResolutionClient::finish(std::uint32_t id, const ResolutionResult& result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  std::vector<ResolveCallback> callbacks = std::move(it->second.callbacks);
  by_target_.erase(it->second.target);
  pending_.erase(it);
  log::debug(kLog, "resolution of " + result.target.to_string() + ": " + std::string(to_string(result.status)) +
                       (result.ok() ? " at " + result.nbma.to_string() : ": " + result.error));
  for (auto& callback : callbacks) {
    if (callback) callback(result);
  }
  schedule();
}

void ResolutionClient::defer(ResolveCallback done, ResolutionResult result) {
  deferred_.emplace_back(std::move(done), std::move(result));
  if (!deferred_timer_->armed()) deferred_timer_->arm(Duration::zero());
}

void ResolutionClient::flush_deferred() {
  auto ready = std::move(deferred_);
  deferred_.clear();
  for (auto& [callback, result] : ready) {
    if (callback) callback(result);
  }
}

// ---- Timers: one for every pending request (its earliest due time). ----

void ResolutionClient::schedule() {
  if (pending_.empty()) {
    retransmit_timer_->cancel();
    return;
  }
  MonotonicTime due = MonotonicTime::max();
  for (const auto& [id, pending] : pending_) due = std::min({due, pending.next_send, pending.give_up_at});
  retransmit_timer_->arm(std::max(due - clock_.now(), Duration::zero()));
}

void ResolutionClient::on_timer() {
  const MonotonicTime now = clock_.now();
  std::vector<std::uint32_t> expired;
  for (auto& [id, pending] : pending_) {
    if (pending.give_up_at <= now) {
      expired.push_back(id);
    } else if (pending.next_send <= now) {
      pending.retransmit = next_backoff(pending.retransmit, kResolutionFirstRetransmit, kResolutionMaxRetransmit);
      send(id, pending);
    }
  }
  for (std::uint32_t id : expired) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    ResolutionResult r = failure(it->second.target, ResolutionStatus::Timeout,
                                 "no reply after " + std::to_string(it->second.attempts) + " attempts");
    finish(id, r);
  }
  schedule();
}

}  // namespace advpnd::spoke
