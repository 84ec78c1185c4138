// Registration Request handling (RFC 2332 5.2.3, 5.2.4; NHRP-WIRE.md 8.1).
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

bool NextHopServer::present_after_batches(const db::BindingKey& key) const {
  const auto* staged = staged_state(key);
  return staged != nullptr ? staged->has_value() : cache_.find(key) != nullptr;
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
  if (!present_after_batches(binding.key)) ++open_.delta;
  open_.after[binding.key] = binding;
  (void)store_.stage_upsert(binding);
  if (kind) (void)store_.stage_audit(audit_event(binding, *kind, binding.registered_at, reason));
}

void NextHopServer::stage_removal(const db::Binding& binding, db::AuditKind kind, const std::string& reason) {
  if (present_after_batches(binding.key)) --open_.delta;
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
  const std::int64_t now = steady_unix_seconds();
  const bool unique = (request.flags & nhrp::flags::kRegistrationU) != 0;
  const bool rate_ok = registration_rate_.try_take(frame.outer_source, clock_.now());
  if (!rate_ok) stats_.count_error("registration rate limited");

  std::vector<nhrp::Cie> answers = request.cies;
  for (nhrp::Cie& cie : answers) {
    const IpAddress protocol = cie.protocol.empty() ? request.src_protocol : cie.protocol;
    const IpAddress nbma = cie.nbma.empty() ? request.src_nbma : cie.nbma;
    const std::uint8_t prefix = normalized_prefix(cie.prefix_length, protocol);
    const std::uint16_t holding = granted_holding_time(cie.holding_time);
    const auto refuse = [&](nhrp::CieCode code, const std::string& reason) {
      cie.code = code;
      cie.holding_time = 0;
      stage_audit(db::AuditKind::Refused, request, frame, protocol, prefix, reason);
      log_throttle_.write(clock_.now(), log::Level::Info, kLog, "refused " + frame.outer_source.to_string(),
                          "refused registration " + describe(protocol, prefix, nbma) + " from " +
                              frame.outer_source.to_string() + ": " + reason);
    };
    if (!rate_ok) {
      cie.code = nhrp::CieCode::InsufficientResources;
      cie.holding_time = 0;
      continue;  // not audited: a flood must not turn into disk writes
    }
    if (protocol.empty() || protocol.size() != config_.protocol.size()) {
      refuse(nhrp::CieCode::AdministrativelyProhibited, "protocol address of another family");
      continue;
    }

    db::Binding binding;
    binding.key = {protocol, prefix, nbma};
    binding.post_nat_nbma = frame.outer_source;
    binding.holding_time_s = holding;
    binding.expires_at = now + holding;
    binding.registered_at = now;
    binding.unique = unique;
    binding.mtu = cie.mtu;
    binding.request_id = request.request_id;

    bool refresh = false;
    bool unchanged = false;
    std::vector<db::Binding> displaced;
    std::string holder;
    for (const db::Binding& existing : effective_bindings(protocol, prefix)) {
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
      refuse(nhrp::CieCode::UniqueAddressRegistered, "unique address registered by " + holder);
      continue;
    }
    if (!refresh && displaced.empty() &&
        bindings_after_batches() >= static_cast<std::ptrdiff_t>(config_.max_registrations)) {
      stats_.count_error("registration capacity");
      refuse(nhrp::CieCode::InsufficientResources, "maximum registrations reached");
      continue;
    }
    for (const db::Binding& old : displaced) {
      stage_removal(old, db::AuditKind::Replaced, "replaced by " + nbma.to_string());
      open_.log.push_back("replaced " + describe(protocol, prefix, old.key.nbma) + " by " + nbma.to_string());
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
      open_.log.push_back("registered " + describe(protocol, prefix, nbma) +
                          (frame.outer_source != nbma ? " (NAT: " + frame.outer_source.to_string() + ")" : "") +
                          " for " + std::to_string(holding) + " s");
    }
    cie.code = nhrp::CieCode::Success;
    cie.holding_time = holding;
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

}  // namespace advpnd::hub
