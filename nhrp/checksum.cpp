#include <algorithm>

#include "nhrp/codec.h"

namespace advpnd::nhrp {

// RFC 1071 section 4.1, summing 16-bit big-endian words; an odd trailing
// byte is the high-order byte of a word padded with zero. (FRR fixed its
// odd-length bug in 9c083f6916; OpenNHRP still has it: NHRP-WIRE.md 2.)
std::uint16_t internet_checksum(std::span<const std::byte> data) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += (std::to_integer<std::uint32_t>(data[i]) << 8) | std::to_integer<std::uint32_t>(data[i + 1]);
  }
  if (i < data.size()) {
    sum += std::to_integer<std::uint32_t>(data[i]) << 8;
  }
  while ((sum >> 16) != 0) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

bool checksum_valid(std::span<const std::byte> data) {
  if (data.size() < kFixedHeaderSize) {
    return false;
  }
  // ar$pktsz at offset 10 bounds the sum (FRR sums the whole datagram; a
  // padded Ethernet frame would then fail, so use the declared size).
  const std::size_t declared = (std::to_integer<std::size_t>(data[10]) << 8) | std::to_integer<std::size_t>(data[11]);
  if (declared < kFixedHeaderSize || declared > data.size()) {
    return false;
  }
  return internet_checksum(data.first(declared)) == 0;
}

}  // namespace advpnd::nhrp
