// An overlay prefix (address + length), the unit a shortcut routes.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "base/ip_address.h"

namespace advpnd::shortcut {

struct Prefix {
  IpAddress address;  // kept masked to `length`
  std::uint8_t length = 0;

  [[nodiscard]] static Prefix of(const IpAddress& address, std::uint8_t length) {
    const auto bounded = static_cast<std::uint8_t>(length > address.bit_width() ? address.bit_width() : length);
    return Prefix{address.masked(bounded), bounded};
  }
  [[nodiscard]] static Prefix host(const IpAddress& address) {
    return of(address, static_cast<std::uint8_t>(address.bit_width()));
  }
  [[nodiscard]] bool contains(const IpAddress& other) const { return address.shares_prefix(other, length); }
  [[nodiscard]] std::string to_string() const { return address.to_string() + "/" + std::to_string(length); }

  friend bool operator==(const Prefix&, const Prefix&) = default;
  friend auto operator<=>(const Prefix&, const Prefix&) = default;
};

}  // namespace advpnd::shortcut
