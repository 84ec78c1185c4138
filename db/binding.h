// What the hub persists (ARCHITECTURE.md "State that must survive"): one row
// per registration binding, and an audit trail of what happened to bindings.
//
// Key decision (hub issue: "choose a key that supports both [Cisco unique and
// FRR-style overwrite] and document it"): a binding is identified by
//   (protocol address, prefix length, claimed NBMA address).
// - Several NBMAs may hold the same protocol address/prefix at once (non-unique
//   registrations, RFC 2332 5.2.3), each its own row.
// - A refresh from the same NBMA updates that row in place.
// - Cisco "unique" semantics (refuse another NBMA while a unique binding lives,
//   RFC 2332 5.2.2 code 14) and the FRR-style overwrite (the new NBMA replaces
//   the old one) are hub policy: the hub reads the rows of that protocol
//   address and stages a refusal audit, or a remove + upsert, in one batch.
// - The key uses the *claimed* NBMA, not the post-NAT one: a spoke whose NAT
//   mapping changes keeps one row (the post-NAT column is updated), and two
//   spokes behind different NATs claiming the same private NBMA for different
//   protocol addresses are different rows anyway.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "base/ip_address.h"
#include "base/result.h"
#include "db/store_error.h"

namespace advpnd::db {

struct BindingKey {
  IpAddress protocol;           // client protocol (overlay) address, IPv4 or IPv6
  std::uint8_t prefix_len = 0;  // 0..32 or 0..128; a host binding has the full width
  IpAddress nbma;               // NBMA address the client claimed in its request

  friend bool operator==(const BindingKey&, const BindingKey&) = default;
  friend auto operator<=>(const BindingKey&, const BindingKey&) = default;
};

// Times are wall-clock unix seconds: monotonic clocks restart at boot, and the
// hub must serve every unexpired binding after a restart (ARCHITECTURE.md).
struct Binding {
  BindingKey key;
  IpAddress post_nat_nbma;           // outer source as seen by the hub; empty if unknown
  std::uint16_t holding_time_s = 0;  // as granted in the Registration Reply
  std::int64_t expires_at = 0;       // absolute expiry; expired iff expires_at <= now
  std::int64_t registered_at = 0;    // when the hub accepted the registration
  bool unique = false;               // RFC 2332 5.2.3 U bit
  std::uint16_t mtu = 0;             // from the client's CIE; 0 if none was given
  std::string identity;              // authenticated identity (IKE peer id); may be empty
  std::uint32_t request_id = 0;      // last Registration Request id from this client

  friend bool operator==(const Binding&, const Binding&) = default;
};

// Hub issue: "event kind (registered, refreshed, replaced,
// refused-with-reason, expired, purged)".
enum class AuditKind : std::uint8_t { Registered, Refreshed, Replaced, Refused, Expired, Purged };

[[nodiscard]] std::string_view to_string(AuditKind kind);
[[nodiscard]] std::optional<AuditKind> parse_audit_kind(std::string_view text);

struct AuditEvent {
  std::int64_t at = 0;  // wall-clock unix seconds
  AuditKind kind = AuditKind::Registered;
  IpAddress nbma;           // claimed NBMA
  IpAddress post_nat_nbma;  // outer source as seen by the hub; may be empty
  IpAddress protocol;       // may be empty for a refusal before the CIE was decoded
  std::uint8_t prefix_len = 0;
  std::string reason;  // free text: why it was refused, replaced by whom, ...

  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// Who was given a binding in a Resolution Reply, until when (RFC 2332
// 5.2.5: they get a Purge Request when it goes). Persisted so that the purge
// still reaches them after a hub restart (issue #10 item 6). One per binding
// and requester NBMA; removing the binding (stage_remove, delete_expired)
// removes its resolvers in the same transaction.
struct ResolverRecord {
  BindingKey binding;
  IpAddress requester_nbma;      // where the Purge Request goes
  IpAddress requester_protocol;  // its destination protocol address; may be empty
  std::int64_t until = 0;        // the requester's copy expires then (unix seconds)

  friend bool operator==(const ResolverRecord&, const ResolverRecord&) = default;
};

// Which audit events to read (advpnctl and tests): at >= since, at most limit.
struct AuditQuery {
  std::int64_t since = std::numeric_limits<std::int64_t>::min();
  std::size_t limit = 1000;
  bool newest_first = false;  // false: oldest first; ties keep insertion order
};

// Longest identity and reason texts the store accepts.
inline constexpr std::size_t kMaxIdentityLength = 1024;
inline constexpr std::size_t kMaxReasonLength = 1024;

// The contract every store enforces at stage time, so that one bad binding
// cannot sink the whole batch at commit: protocol and NBMA addresses present
// (IPv4 or IPv6), prefix_len <= the protocol address width, post-NAT NBMA
// empty or an address, identity no longer than kMaxIdentityLength.
[[nodiscard]] Status<StoreError> validate(const Binding& binding);
[[nodiscard]] Status<StoreError> validate(const BindingKey& key);
// prefix_len <= protocol width (when present), reason <= kMaxReasonLength.
[[nodiscard]] Status<StoreError> validate(const AuditEvent& event);
// A valid binding key and a requester NBMA address.
[[nodiscard]] Status<StoreError> validate(const ResolverRecord& resolver);

}  // namespace advpnd::db
