// The hub's in-memory registration cache: every committed binding, indexed
// for longest-prefix lookup of resolution targets (RFC 2332 5.2.1: the NHS
// answers for a protocol address covered by a registered prefix).
//
// It holds only what the store has committed; the NHS applies a batch here
// after its transaction commits, so resolutions never see a registration
// that could still be lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/ip_address.h"
#include "db/binding.h"

namespace advpnd::hub {

class BindingCache {
 public:
  void upsert(const db::Binding& binding);
  // The removed binding, if there was one.
  std::optional<db::Binding> remove(const db::BindingKey& key);
  void clear();

  [[nodiscard]] const db::Binding* find(const db::BindingKey& key) const;
  // Every binding of this protocol address and prefix (one per NBMA).
  [[nodiscard]] std::vector<const db::Binding*> find_address(const IpAddress& protocol, std::uint8_t prefix_len) const;
  // Every binding registered from this claimed NBMA address.
  [[nodiscard]] std::vector<const db::Binding*> find_nbma(const IpAddress& nbma) const;
  // How many bindings were registered from this outer (post-NAT) NBMA.
  [[nodiscard]] std::size_t count_post_nat(const IpAddress& post_nat_nbma) const;
  // Whether any binding is reached at `nbma`: registered from it (its own
  // NBMA) or seen from it (post-NAT). No allocation: asked per data frame.
  [[nodiscard]] bool reached_at(const IpAddress& nbma) const;
  // Every binding whose prefix overlaps prefix/prefix_len: covers it, equals
  // it, or lies inside it (the address policy's check, issue #12).
  [[nodiscard]] std::vector<const db::Binding*> overlapping(const IpAddress& prefix, std::uint8_t prefix_len) const;
  // The most specific unexpired binding whose prefix covers `target`
  // (expires_at > now); among equals, the one registered last.
  [[nodiscard]] const db::Binding* longest_match(const IpAddress& target, std::int64_t now) const;

  [[nodiscard]] std::size_t size() const { return bindings_.size(); }
  [[nodiscard]] const std::map<db::BindingKey, db::Binding>& all() const { return bindings_; }

 private:
  using Keys = std::vector<db::BindingKey>;
  // Index per prefix length (0..128): masked prefix -> keys of that prefix.
  std::unordered_map<IpAddress, Keys>& index_for(std::uint8_t prefix_len) { return by_prefix_[prefix_len]; }
  void unindex(const db::BindingKey& key);
  void uncount_post_nat(const IpAddress& post_nat_nbma);

  std::map<db::BindingKey, db::Binding> bindings_;
  std::map<std::uint8_t, std::unordered_map<IpAddress, Keys>, std::greater<>> by_prefix_;
  std::unordered_map<IpAddress, Keys> by_nbma_;
  std::unordered_map<IpAddress, std::size_t> per_post_nat_;
};

}  // namespace advpnd::hub
