// Cisco cleartext authentication extension (type 7; NHRP-WIRE.md 7.5).
// Value = 00 00 00 01 (reserved 0, SPI 1) then the password bytes, no NUL,
// no padding; `ip nhrp authentication` takes at most 8 characters.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "nhrp/packet.h"

namespace advpnd::nhrp {

inline constexpr std::size_t kCiscoAuthMaxPassword = 8;
inline constexpr std::uint32_t kCiscoAuthSpi = 1;

[[nodiscard]] Extension make_cisco_auth(std::string_view password);

// The password carried by a Cisco cleartext Authentication extension, or
// nullopt when the value is not of that form (shorter than 4 bytes, SPI != 1).
[[nodiscard]] std::optional<std::span<const std::byte>> cisco_auth_password(const Extension& ext);

enum class AuthCheck : std::uint8_t { Ok, Missing, Malformed, Mismatch };
[[nodiscard]] std::string_view to_string(AuthCheck check);
// FRR's rule: when a password is configured, every packet must carry the
// extension and its value must match byte for byte, length included.
[[nodiscard]] AuthCheck check_cisco_auth(const Packet& packet, std::string_view password);

}  // namespace advpnd::nhrp
