// GRE framing for NHRP and overlay packets (RFC 2784, RFC 2890 key and
// sequence). Cisco and Linux send flags 0 or K only; C and S are skipped
// when present (NHRP-WIRE.md 1.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/result.h"

namespace advpnd::nhrp {

inline constexpr std::uint16_t kGreFlagChecksum = 0x8000;
inline constexpr std::uint16_t kGreFlagRouting = 0x4000;
inline constexpr std::uint16_t kGreFlagKey = 0x2000;
inline constexpr std::uint16_t kGreFlagSequence = 0x1000;
inline constexpr std::uint16_t kGreVersionMask = 0x0007;

struct GreHeader {
  std::uint16_t protocol = 0;  // 0x2001 NHRP, 0x0800 IPv4, 0x86DD IPv6
  std::optional<std::uint32_t> key;
  std::optional<std::uint32_t> sequence;
  bool checksum_present = false;
};

struct GreFrame {
  GreHeader header;
  std::size_t header_size = 0;
  std::span<const std::byte> payload;
};

enum class GreErrc : std::uint8_t { Truncated, UnsupportedVersion, RoutingPresent };
struct GreError {
  GreErrc code = GreErrc::Truncated;
  std::size_t offset = 0;
  [[nodiscard]] std::string_view message() const;
};

[[nodiscard]] Result<GreFrame, GreError> decode_gre(std::span<const std::byte> data);

// Size of the header encode_gre_header writes: 4, or 8 with a key (no C, no S).
[[nodiscard]] constexpr std::size_t gre_header_size(const GreHeader& header) {
  return 4 + (header.checksum_present ? 4 : 0) + (header.key ? 4 : 0) + (header.sequence ? 4 : 0);
}
// Writes the GRE header into `out` (which must hold gre_header_size bytes);
// the optional checksum field is written as zero. Returns the bytes written, 0 if too small.
std::size_t encode_gre_header(const GreHeader& header, std::span<std::byte> out);

}  // namespace advpnd::nhrp
