#include "base/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace advpnd {

std::optional<IpAddress> IpAddress::from_bytes(std::span<const std::byte> bytes) {
  if (bytes.size() != 0 && bytes.size() != kIpv4Size && bytes.size() != kIpv6Size) {
    return std::nullopt;
  }
  IpAddress addr;
  addr.size_ = static_cast<std::uint8_t>(bytes.size());
  if (!bytes.empty()) {
    std::memcpy(addr.bytes_.data(), bytes.data(), bytes.size());
  }
  return addr;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  char buffer[INET6_ADDRSTRLEN] = {};
  std::memcpy(buffer, text.data(), text.size());
  IpAddress addr;
  if (inet_pton(AF_INET, buffer, addr.bytes_.data()) == 1) {
    addr.size_ = kIpv4Size;
    return addr;
  }
  if (inet_pton(AF_INET6, buffer, addr.bytes_.data()) == 1) {
    addr.size_ = kIpv6Size;
    return addr;
  }
  return std::nullopt;
}

bool IpAddress::shares_prefix(const IpAddress& other, unsigned prefix_len) const {
  if (size_ != other.size_ || prefix_len > bit_width()) {
    return false;
  }
  const unsigned full_bytes = prefix_len / 8;
  if (std::memcmp(bytes_.data(), other.bytes_.data(), full_bytes) != 0) {
    return false;
  }
  const unsigned rest = prefix_len % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
  return (bytes_[full_bytes] & mask) == (other.bytes_[full_bytes] & mask);
}

IpAddress IpAddress::masked(unsigned prefix_len) const {
  IpAddress out = *this;
  for (unsigned i = 0; i < size_; ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= prefix_len) {
      out.bytes_[i] = 0;
    } else if (prefix_len - first_bit < 8) {
      out.bytes_[i] = static_cast<std::uint8_t>(bytes_[i] & (0xFFu << (8 - (prefix_len - first_bit))));
    }
  }
  return out;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AddressFamily::Ipv4:
      inet_ntop(AF_INET, bytes_.data(), buffer, sizeof buffer);
      return buffer;
    case AddressFamily::Ipv6:
      inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof buffer);
      return buffer;
    case AddressFamily::None:
      break;
  }
  return "";
}

}  // namespace advpnd
