// IpAddress: an IPv4 or IPv6 address held by value. NBMA and protocol
// addresses in NHRP are both of this type; the family follows the length on
// the wire (RFC 2332 5.2.0.1: lengths come from ar$shtl and the proto-len fields).
#pragma once

#include <array>
#include <compare>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace advpnd {

enum class AddressFamily : std::uint8_t { None, Ipv4, Ipv6 };

class IpAddress {
 public:
  static constexpr std::size_t kIpv4Size = 4;
  static constexpr std::size_t kIpv6Size = 16;

  // The empty address (length 0 on the wire: "not present").
  constexpr IpAddress() = default;

  static constexpr IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress addr;
    addr.size_ = kIpv4Size;
    addr.bytes_ = {a, b, c, d};
    return addr;
  }
  static constexpr IpAddress v4(std::uint32_t host_order) {
    return v4(static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
              static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order));
  }
  // From raw network-order bytes; only 0, 4 or 16 bytes make an address.
  static std::optional<IpAddress> from_bytes(std::span<const std::byte> bytes);
  // Decoder hot path: sets the address from 0, 4 or 16 bytes the caller has
  // already validated; any other size leaves it empty.
  void assign(std::span<const std::byte> bytes) {
    size_ = 0;
    bytes_ = {};
    if (bytes.size() == kIpv4Size || bytes.size() == kIpv6Size) {
      size_ = static_cast<std::uint8_t>(bytes.size());
      std::memcpy(bytes_.data(), bytes.data(), bytes.size());
    }
  }
  // From text: dotted quad or RFC 5952 IPv6.
  static std::optional<IpAddress> parse(std::string_view text);

  [[nodiscard]] constexpr AddressFamily family() const {
    return size_ == kIpv4Size ? AddressFamily::Ipv4
           : size_ == kIpv6Size ? AddressFamily::Ipv6
                                : AddressFamily::None;
  }
  [[nodiscard]] constexpr bool empty() const { return size_ == 0; }
  [[nodiscard]] constexpr std::size_t size() const { return size_; }
  [[nodiscard]] std::span<const std::byte> bytes() const {
    return std::as_bytes(std::span<const std::uint8_t>(bytes_.data(), size_));
  }
  [[nodiscard]] constexpr std::uint8_t byte(std::size_t i) const { return bytes_[i]; }
  // IPv4 only: the address as a host-order integer.
  [[nodiscard]] constexpr std::uint32_t v4_value() const {
    return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
           (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
  }
  // Bits in the address: 32 or 128 (0 when empty).
  [[nodiscard]] constexpr unsigned bit_width() const { return static_cast<unsigned>(size_) * 8; }

  // True when the first prefix_len bits of both addresses are equal (same family).
  [[nodiscard]] bool shares_prefix(const IpAddress& other, unsigned prefix_len) const;
  // The address with every bit past prefix_len cleared.
  [[nodiscard]] IpAddress masked(unsigned prefix_len) const;

  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const IpAddress&, const IpAddress&) = default;
  friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  std::uint8_t size_ = 0;
  std::array<std::uint8_t, kIpv6Size> bytes_{};
};

}  // namespace advpnd

template <>
struct std::hash<advpnd::IpAddress> {
  std::size_t operator()(const advpnd::IpAddress& addr) const noexcept {
    // FNV-1a over the length and the bytes.
    std::size_t h = 1469598103934665603ull ^ addr.size();
    for (std::size_t i = 0; i < addr.size(); ++i) {
      h = (h ^ addr.byte(i)) * 1099511628211ull;
    }
    return h;
  }
};
