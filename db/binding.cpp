#include "db/binding.h"

#include <array>
#include <utility>

namespace advpnd::db {
namespace {

constexpr std::array<std::pair<AuditKind, std::string_view>, 6> kAuditKindNames{{
    {AuditKind::Registered, "registered"},
    {AuditKind::Refreshed, "refreshed"},
    {AuditKind::Replaced, "replaced"},
    {AuditKind::Refused, "refused"},
    {AuditKind::Expired, "expired"},
    {AuditKind::Purged, "purged"},
}};

Unexpected<StoreError> invalid(std::string message) {
  return fail(StoreError{StoreErrorKind::Invalid, std::move(message)});
}

}  // namespace

std::string_view to_string(AuditKind kind) {
  for (const auto& [k, name] : kAuditKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<AuditKind> parse_audit_kind(std::string_view text) {
  for (const auto& [k, name] : kAuditKindNames) {
    if (name == text) return k;
  }
  return std::nullopt;
}

Status<StoreError> validate(const BindingKey& key) {
  if (key.protocol.empty()) return invalid("binding without a protocol address");
  if (key.nbma.empty()) return invalid("binding " + key.protocol.to_string() + " without an NBMA address");
  if (key.prefix_len > key.protocol.bit_width()) {
    return invalid("binding " + key.protocol.to_string() + "/" + std::to_string(key.prefix_len) +
                   ": prefix length exceeds the address width " + std::to_string(key.protocol.bit_width()));
  }
  return {};
}

Status<StoreError> validate(const ResolverRecord& resolver) {
  if (auto key = validate(resolver.binding); !key) return key;
  if (resolver.requester_nbma.empty())
    return invalid("resolver of " + resolver.binding.protocol.to_string() + " without an NBMA address");
  return {};
}

Status<StoreError> validate(const Binding& binding) {
  if (auto key = validate(binding.key); !key) return key;
  if (binding.identity.size() > kMaxIdentityLength) {
    return invalid("binding " + binding.key.protocol.to_string() + ": identity of " +
                   std::to_string(binding.identity.size()) + " bytes exceeds " + std::to_string(kMaxIdentityLength));
  }
  return {};
}

Status<StoreError> validate(const AuditEvent& event) {
  if (!event.protocol.empty() && event.prefix_len > event.protocol.bit_width()) {
    return invalid("audit event for " + event.protocol.to_string() + ": prefix length " +
                   std::to_string(event.prefix_len) + " exceeds the address width");
  }
  if (event.reason.size() > kMaxReasonLength) {
    return invalid("audit reason of " + std::to_string(event.reason.size()) + " bytes exceeds " +
                   std::to_string(kMaxReasonLength));
  }
  return {};
}

}  // namespace advpnd::db
