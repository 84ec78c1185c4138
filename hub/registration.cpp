// Registration Request handling (RFC 2332 5.2.3, 5.2.4; NHRP-WIRE.md 8.1).
#include <algorithm>
#include <set>

#include "base/log.h"
#include "hub/next_hop_server.h"

namespace advpnd::hub {
namespace {
constexpr std::string_view kLog = "nhs";

// RFC 2332 5.2.1: 0 and 0xFF mean "host"; an FRR NHS treats anything >= the
// address width as a host registration too (NHRP-WIRE.md 4).
std::uint8_t normalized_prefix(std::uint8_t prefix, const IpAddress& protocol) {
  const auto width = static_cast<std::uint8_t>(protocol.bit_width());
  return (prefix == 0 || prefix >= width) ? width : prefix;
}

std::string describe(const IpAddress& protocol, std::uint8_t prefix, const IpAddress& nbma) {
  return protocol.to_string() + "/" + std::to_string(prefix) + " at " + nbma.to_string();
}

// A refresh that an operator reading the audit would not care about: the
// same station, seen from the same place, with the same terms.
bool same_but_expiry(const db::Binding& before, const db::Binding& after) {
  return before.post_nat_nbma == after.post_nat_nbma && before.holding_time_s == after.holding_time_s &&
         before.unique == after.unique && before.mtu == after.mtu && before.identity == after.identity;
}

db::AuditEvent audit_event(const db::Binding& binding, db::AuditKind kind, std::int64_t at, const std::string& reason) {
  db::AuditEvent event;
  event.at = at;
  event.kind = kind;
  event.nbma = binding.key.nbma;
  event.post_nat_nbma = binding.post_nat_nbma;
  event.protocol = binding.key.protocol;
  event.prefix_len = binding.key.prefix_len;
  event.reason = reason;
  return event;
}
}  // namespace

const std::optional<db::Binding>* NextHopServer::staged_state(const db::BindingKey& key) const {
  if (auto it = open_.after.find(key); it != open_.after.end()) return &it->second;
  for (auto batch = in_flight_.rbegin(); batch != in_flight_.rend(); ++batch) {
    if (auto it = batch->after.find(key); it != batch->after.end()) return &it->second;
  }
  return nullptr;
}

const db::Binding* NextHopServer::effective_binding(const db::BindingKey& key) const {
  if (const auto* staged = staged_state(key)) return staged->has_value() ? &**staged : nullptr;
  return cache_.find(key);
}

bool NextHopServer::present_after_batches(const db::BindingKey& key) const { return effective_binding(key) != nullptr; }

std::size_t NextHopServer::bindings_of_source(const IpAddress& outer) const {
  auto count = static_cast<std::ptrdiff_t>(cache_.count_post_nat(outer));
  const auto add = [&](const Batch& batch) {
    if (auto it = batch.per_source.find(outer); it != batch.per_source.end()) count += it->second;
  };
  add(open_);
  for (const Batch& batch : in_flight_) add(batch);
  return count < 0 ? 0 : static_cast<std::size_t>(count);
}

std::ptrdiff_t NextHopServer::bindings_after_batches() const {
  auto count = static_cast<std::ptrdiff_t>(cache_.size()) + open_.delta;
  for (const Batch& batch : in_flight_) count += batch.delta;
  return count;
}

std::vector<db::Binding> NextHopServer::effective_bindings(const IpAddress& protocol, std::uint8_t prefix) const {
  // The keys of (protocol, prefix): committed, and in any batch not yet
  // committed (BindingKey orders by protocol, then prefix, then NBMA).
  std::set<db::BindingKey> keys;
  for (const db::Binding* binding : cache_.find_address(protocol, prefix)) keys.insert(binding->key);
  const auto add_keys = [&](const Batch& batch) {
    for (auto it = batch.after.lower_bound(db::BindingKey{protocol, prefix, IpAddress{}});
         it != batch.after.end() && it->first.protocol == protocol && it->first.prefix_len == prefix; ++it) {
      keys.insert(it->first);
    }
  };
  add_keys(open_);
  for (const Batch& batch : in_flight_) add_keys(batch);
  std::vector<db::Binding> out;
  for (const db::BindingKey& key : keys) {
    if (const auto* staged = staged_state(key)) {
      if (*staged) out.push_back(**staged);
    } else if (const db::Binding* binding = cache_.find(key)) {
      out.push_back(*binding);
    }
  }
  return out;
}

void NextHopServer::stage_binding(const db::Binding& binding, std::optional<db::AuditKind> kind,
                                  const std::string& reason) {
  // Counted before open_.after changes: `before` may point into it.
  if (const db::Binding* before = effective_binding(binding.key); before == nullptr) {
    ++open_.delta;
    ++open_.per_source[binding.post_nat_nbma];
  } else if (before->post_nat_nbma != binding.post_nat_nbma) {
    --open_.per_source[before->post_nat_nbma];  // the spoke moved (NAT): its count follows
    ++open_.per_source[binding.post_nat_nbma];
  }
  open_.after[binding.key] = binding;
  (void)store_.stage_upsert(binding);
  if (kind) (void)store_.stage_audit(audit_event(binding, *kind, binding.registered_at, reason));
}

void NextHopServer::stage_removal(const db::Binding& binding, db::AuditKind kind, const std::string& reason) {
  if (const db::Binding* before = effective_binding(binding.key)) {
    --open_.delta;
    --open_.per_source[before->post_nat_nbma];
  }
  open_.after[binding.key] = std::nullopt;
  open_.gone.push_back(binding);
  (void)store_.stage_remove(binding.key);
  (void)store_.stage_audit(audit_event(binding, kind, steady_unix_seconds(), reason));
}

void NextHopServer::stage_audit(db::AuditKind kind, const nhrp::Packet& request, const NbmaFrame& frame,
                                const IpAddress& protocol, std::uint8_t prefix, const std::string& reason) {
  db::AuditEvent event;
  event.at = steady_unix_seconds();
  event.kind = kind;
  event.nbma = request.src_nbma;
  event.post_nat_nbma = frame.outer_source;
  event.protocol = protocol;
  event.prefix_len = prefix;
  event.reason = reason;
  (void)store_.stage_audit(event);
}

void NextHopServer::handle_registration(const NbmaFrame& frame, const nhrp::Packet& request) {
  if (!authenticated(frame, request) || !extensions_understood(frame, request)) return;
  // For this NHS: its own address, or the client's own when it does not
  // know the NHS's yet (FRR `nhs dynamic`, RFC 2332 5.2.3).
  if (request.dst_protocol != config_.protocol && request.dst_protocol != request.src_protocol &&
      !request.dst_protocol.empty()) {
    stats_.count_error("registration not for this NHS");
    return;
  }
  std::vector<nhrp::Cie> answers = request.cies;
  if (answers.size() > config_.max_cies_per_request) {
    refuse_oversize(frame, request, answers);
  } else {
    // Issue #12: a token per CIE, all or none, so that one request cannot
    // carry a flood past the limit.
    const auto cost = static_cast<double>(std::max<std::size_t>(1, answers.size()));
    if (registration_rate_.try_take(frame.outer_source, clock_.now(), cost)) {
      const std::int64_t now = steady_unix_seconds();
      const std::optional<std::string> request_refused = source_refusal(request);
      for (nhrp::Cie& cie : answers) register_cie(frame, request, cie, now, request_refused);
    } else {
      stats_.count_error("registration rate limited");
      stats_.refused_rate += answers.size();
      for (nhrp::Cie& cie : answers) {
        cie.code = nhrp::CieCode::InsufficientResources;
        cie.holding_time = 0;  // not audited: a flood must not turn into disk writes
      }
    }
  }

  nhrp::ReplySpec spec;
  spec.sender = sender();
  spec.responder = own_cie(config_.max_holding_time);
  // A NATted spoke: its public address as the hub sees it (NHRP-WIRE.md 7.6).
  if (frame.outer_source != request.src_nbma) {
    nhrp::Cie nat;
    nat.prefix_length = static_cast<std::uint8_t>(request.src_protocol.bit_width());
    nat.mtu = config_.mtu;
    nat.nbma = frame.outer_source;
    nat.protocol = request.src_protocol;
    spec.nat_append.push_back(nat);
  }
  nhrp::Packet reply = nhrp::build_registration_reply(request, answers, spec);
  // A spoke that does not know the NHS's address yet sent its own as the
  // destination; the reply names the NHS there, as FRR does, so that the
  // spoke learns it (`nhs dynamic`, NHRP-WIRE.md 3.3, 8.1).
  if (request.dst_protocol.empty() || request.dst_protocol == request.src_protocol) {
    reply.dst_protocol = config_.protocol;
  }
  open_.replies.push_back({frame.outer_source, std::move(reply), true});
}

// Issue #12: a request with more CIEs than the hub takes is refused as a
// whole (RFC 2332 5.2.0.1 code 4 for each CIE, holding time 0).
void NextHopServer::refuse_oversize(const NbmaFrame& frame, const nhrp::Packet& request,
                                    std::vector<nhrp::Cie>& answers) {
  ++stats_.refused_oversize;
  for (nhrp::Cie& cie : answers) {
    cie.code = nhrp::CieCode::AdministrativelyProhibited;
    cie.holding_time = 0;
  }
  const std::string reason = std::to_string(answers.size()) + " CIEs in one request, more than max_cies_per_request " +
                             std::to_string(config_.max_cies_per_request);
  // One audit row per request, and only while the source has a token: a
  // flood of oversized requests must not turn into disk writes.
  if (registration_rate_.try_take(frame.outer_source, clock_.now())) {
    stage_audit(db::AuditKind::Refused, request, frame, request.src_protocol,
                static_cast<std::uint8_t>(request.src_protocol.bit_width()), reason);
  } else {
    stats_.count_error("registration rate limited");
  }
  log_throttle_.write(clock_.now(), log::Level::Info, kLog, "refused " + frame.outer_source.to_string(),
                      "refused registration request " + std::to_string(request.request_id) + " from " +
                          frame.outer_source.to_string() + ": " + reason);
}

void NextHopServer::refuse_cie(const NbmaFrame& frame, const nhrp::Packet& request, nhrp::Cie& cie,
                               const db::BindingKey& key, nhrp::CieCode code, const std::string& reason) {
  cie.code = code;
  cie.holding_time = 0;
  // Issue #12 part 2: the audit row and the log line name the identity.
  const std::string who = current_peer_ != nullptr ? "identity \"" + current_peer_->identity + "\": " : "";
  stage_audit(db::AuditKind::Refused, request, frame, key.protocol, key.prefix_len, who + reason);
  log_throttle_.write(clock_.now(), log::Level::Info, kLog, "refused " + frame.outer_source.to_string(),
                      "refused registration " + describe(key.protocol, key.prefix_len, key.nbma) + " from " +
                          frame.outer_source.to_string() +
                          (current_peer_ != nullptr ? " (identity \"" + current_peer_->identity + "\")" : "") +
                          ": " + reason);
}

void NextHopServer::register_cie(const NbmaFrame& frame, const nhrp::Packet& request, nhrp::Cie& cie, std::int64_t now,
                                 const std::optional<std::string>& request_refused) {
  const IpAddress protocol = cie.protocol.empty() ? request.src_protocol : cie.protocol;
  const IpAddress nbma = cie.nbma.empty() ? request.src_nbma : cie.nbma;
  const db::BindingKey key{protocol, normalized_prefix(cie.prefix_length, protocol), nbma};
  const std::uint16_t holding = granted_holding_time(cie.holding_time);
  const bool unique = (request.flags & nhrp::flags::kRegistrationU) != 0;
  if (protocol.empty() || protocol.size() != config_.protocol.size()) {
    refuse_cie(frame, request, cie, key, nhrp::CieCode::AdministrativelyProhibited,
               "protocol address of another family");
    return;
  }
  // Issue #12: the address policy, before anything else is looked at.
  std::optional<std::string> policy = request_refused;
  if (!policy) policy = address_refusal(protocol, key.prefix_len);
  if (!policy) policy = overlap_refusal(key, frame.outer_source, now);
  if (policy) {
    ++stats_.refused_policy;
    refuse_cie(frame, request, cie, key, nhrp::CieCode::AdministrativelyProhibited, *policy);
    return;
  }
  if (current_peer_ != nullptr) {
    // The request's own address first: a CIE cannot speak for a station
    // that is not the identity's.
    const db::BindingKey source{request.src_protocol, static_cast<std::uint8_t>(request.src_protocol.bit_width()),
                                request.src_nbma};
    std::optional<std::string> why;
    if (source.protocol.size() == config_.protocol.size()) why = identity_refusal(*current_peer_, source, now);
    if (why) {
      why = "source protocol address: " + *why;
    } else {
      why = identity_refusal(*current_peer_, key, now);
    }
    if (why) {
      ++stats_.refused_identity;
      refuse_cie(frame, request, cie, key, nhrp::CieCode::AdministrativelyProhibited, *why);
      return;
    }
  }

  db::Binding binding;
  binding.key = key;
  binding.post_nat_nbma = frame.outer_source;
  binding.holding_time_s = holding;
  binding.expires_at = now + holding;
  binding.registered_at = now;
  binding.unique = unique;
  binding.mtu = cie.mtu;
  binding.request_id = request.request_id;
  if (current_peer_ != nullptr) binding.identity = current_peer_->identity;

  bool refresh = false;
  bool unchanged = false;
  std::vector<db::Binding> displaced;
  std::string holder;
  for (const db::Binding& existing : effective_bindings(protocol, key.prefix_len)) {
    if (existing.key.nbma == nbma) {
      refresh = true;
      unchanged = same_but_expiry(existing, binding);
    } else if (existing.expires_at > now && (existing.unique || unique)) {
      displaced.push_back(existing);
      holder = existing.key.nbma.to_string();
    }
  }
  // RFC 2332 5.2.4 code 14 while another NBMA holds a unique binding; or
  // FRR-style overwrite when configured for mixed networks.
  if (!displaced.empty() && !config_.unique_overwrite) {
    refuse_cie(frame, request, cie, key, nhrp::CieCode::UniqueAddressRegistered,
               "unique address registered by " + holder);
    return;
  }
  // Issue #12: one spoke may not take every binding there is; its refreshes
  // always pass. Code 4: the limit is the hub's policy, not its resources.
  if (!refresh && bindings_of_source(frame.outer_source) >= binding_limit(current_peer_)) {
    ++stats_.refused_spoke_limit;
    refuse_cie(frame, request, cie, key, nhrp::CieCode::AdministrativelyProhibited,
               "spoke " + frame.outer_source.to_string() + " holds " +
                   (binding_limit(current_peer_) == config_.max_bindings_per_spoke ? "max_bindings_per_spoke "
                                                                                    : "its [[policy]] max_bindings ") +
                   std::to_string(binding_limit(current_peer_)) + " bindings");
    return;
  }
  if (!refresh && displaced.empty() &&
      bindings_after_batches() >= static_cast<std::ptrdiff_t>(config_.max_registrations)) {
    stats_.count_error("registration capacity");
    refuse_cie(frame, request, cie, key, nhrp::CieCode::InsufficientResources, "maximum registrations reached");
    return;
  }
  for (const db::Binding& old : displaced) {
    stage_removal(old, db::AuditKind::Replaced, "replaced by " + nbma.to_string());
    open_.log.push_back("replaced " + describe(protocol, key.prefix_len, old.key.nbma) + " by " + nbma.to_string());
  }
  if (unchanged && displaced.empty()) {
    // Issue #10 item 2: the row is rewritten (its expiry moved), but a
    // refresh that changes nothing else is counted, not audited.
    ++stats_.refreshes_unchanged;
    stage_binding(binding, std::nullopt, "");
  } else {
    stage_binding(binding, refresh ? db::AuditKind::Refreshed : db::AuditKind::Registered, "");
  }
  if (!refresh) {
    open_.log.push_back("registered " + describe(protocol, key.prefix_len, nbma) +
                        (frame.outer_source != nbma ? " (NAT: " + frame.outer_source.to_string() + ")" : "") + " for " +
                        std::to_string(holding) + " s");
  }
  cie.code = nhrp::CieCode::Success;
  cie.holding_time = holding;
}

}  // namespace advpnd::hub
