// An overlay prefix (address + length), the unit a shortcut routes.
#pragma once

#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
  // "192.168.2.0/24" (host bits are cleared), or a bare address as its host
  // prefix; nullopt for anything else.
  [[nodiscard]] static std::optional<Prefix> parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    if (slash == std::string_view::npos) return host(*address);
    const std::string_view digits = text.substr(slash + 1);
    unsigned length = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        length > address->bit_width()) {
      return std::nullopt;
    }
    return of(*address, static_cast<std::uint8_t>(length));
  }
  [[nodiscard]] bool contains(const IpAddress& other) const { return address.shares_prefix(other, length); }
  [[nodiscard]] std::string to_string() const { return address.to_string() + "/" + std::to_string(length); }

  friend bool operator==(const Prefix&, const Prefix&) = default;
  friend auto operator<=>(const Prefix&, const Prefix&) = default;
};

}  // namespace advpnd::shortcut
