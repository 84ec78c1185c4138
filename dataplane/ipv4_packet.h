// The inner (overlay) IPv4 packets the dataplane forwards: a checked view of
// the header fields it routes on (RFC 791 section 3.1), and the two packets
// it writes itself: ICMP "fragmentation needed" (RFC 792, RFC 1191 section
// 4) and the TTL decrement of a forwarding router (RFC 1812 5.3.1, with the
// incremental checksum update of RFC 1624).
//
// Unlike the outer header (base/ipv4_header.h), inner fragments are
// legal here: the dataplane carries them like any packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/ip_address.h"
#include "base/result.h"
#include "base/ipv4_header.h"

namespace advpnd::dataplane {

inline constexpr std::size_t kIpv4HeaderSize = kIpv4MinHeaderSize;
inline constexpr std::uint8_t kIpProtocolIcmp = 1;
inline constexpr std::uint16_t kFlagDontFragment = kIpv4DontFragment;
inline constexpr std::uint16_t kFlagMoreFragments = kIpv4MoreFragments;
inline constexpr std::uint16_t kFragmentOffsetMask = kIpv4FragmentOffsetMask;

// The header fields the dataplane routes on: the outer header's parser and
// type (base/ipv4_header.h), without its refusal of fragments.
using InnerIpv4 = Ipv4Header;

enum class InnerIpv4Error : std::uint8_t {
  NotIpv4,          // empty, or version other than 4 (IPv6 is not carried yet)
  Truncated,        // fewer than 20 bytes
  BadHeaderLength,  // IHL < 5 or beyond the bytes
  BadTotalLength,   // total length < IHL * 4 or beyond the bytes
};
[[nodiscard]] std::string_view to_string(InnerIpv4Error error);

// Validates before interpreting: version, IHL within the bytes, total length
// between the header and the bytes. Bytes past total_length (link padding)
// are allowed; callers forward only total_length bytes.
[[nodiscard]] Result<InnerIpv4, InnerIpv4Error> parse_inner_ipv4(std::span<const std::byte> packet);

// RFC 1812 4.3.2.7: no ICMP error about an ICMP error, a non-initial
// fragment, or a packet whose source is not a unicast host (0/8, 127/8,
// multicast, class E, limited broadcast).
[[nodiscard]] bool may_send_icmp_error_about(const InnerIpv4& header, std::span<const std::byte> packet);

// The most an ICMP error quotes here: the original header (up to 60 bytes
// with options) + 8 bytes of its data (RFC 792), behind 20 + 8 of our own.
inline constexpr std::size_t kMaxIcmpErrorSize = kIpv4HeaderSize + 8 + 60 + 8;

// ICMP Destination Unreachable, code 4 "fragmentation needed and DF set"
// (RFC 792) with the Next-Hop MTU in the low half of the second word (RFC
// 1191 section 4), quoting the original header and the first 8 bytes of its
// data. Addressed to the original sender, from `from`. Returns the bytes
// written into `out` (at least kMaxIcmpErrorSize), empty if `original` does
// not parse or `out` is too small.
[[nodiscard]] std::span<const std::byte> build_fragmentation_needed(std::span<const std::byte> original,
                                                                    const IpAddress& from, std::uint16_t next_hop_mtu,
                                                                    std::span<std::byte> out);

// Decrements the TTL of the IPv4 packet in place and patches the header
// checksum incrementally (RFC 1624 eqn. 3). False, and nothing changed, when
// the TTL is 0 or 1 (RFC 1812 5.3.1: the packet must not be forwarded) or the
// header does not parse.
[[nodiscard]] bool decrement_ttl(std::span<std::byte> packet);

// RFC 1071 checksum of an IPv4 header (or an ICMP message): the value that
// makes the 16-bit one's complement sum of `data` 0xFFFF.
[[nodiscard]] std::uint16_t ipv4_checksum(std::span<const std::byte> data);

}  // namespace advpnd::dataplane
