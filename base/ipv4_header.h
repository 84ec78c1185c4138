// The outer IPv4 header that a raw IPPROTO_GRE socket delivers in front of
// every GRE packet (Linux raw(7): "the IPv4 header is always included on
// receive"). Parsed with the checked reader, every length validated before
// use (STYLE.md "validate before interpreting"): version, IHL >= 5 (options
// allowed), IHL within the bytes received, total length between IHL and the
// bytes received. The dataplane parses overlay packets with the same code,
// and the capture reader (advpnd decode) the packets of a pcap file, whose
// snap length may have cut the payload (Ipv4Extent::Captured).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/ip_address.h"
#include "base/result.h"

namespace advpnd {

inline constexpr std::size_t kIpv4MinHeaderSize = 20;        // RFC 791: IHL 5
inline constexpr std::uint8_t kIpProtocolGre = 47;           // IANA protocol number, RFC 2784
inline constexpr std::uint16_t kIpv4DontFragment = 0x4000;   // RFC 791: flags bit 1
inline constexpr std::uint16_t kIpv4MoreFragments = 0x2000;  // flags bit 2
inline constexpr std::uint16_t kIpv4FragmentOffsetMask = 0x1fff;

struct Ipv4Header {
  std::size_t header_size = 0;  // IHL * 4, options included
  std::uint8_t tos = 0;         // DSCP + ECN byte
  std::uint16_t total_length = 0;
  std::uint16_t identification = 0;
  std::uint16_t fragment = 0;  // flags (3 bits) + fragment offset (13 bits)
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  IpAddress source;
  IpAddress destination;

  [[nodiscard]] bool dont_fragment() const { return (fragment & kIpv4DontFragment) != 0; }
  [[nodiscard]] std::uint16_t fragment_offset() const { return fragment & kIpv4FragmentOffsetMask; }
};

struct Ipv4Packet {
  Ipv4Header header;
  std::span<const std::byte> payload;  // total_length - header_size bytes after the header
};

enum class Ipv4Errc : std::uint8_t { Truncated, NotVersion4, BadHeaderLength, BadTotalLength, Fragment };

struct Ipv4Error {
  Ipv4Errc code = Ipv4Errc::Truncated;
  std::size_t received = 0;  // bytes available
  std::size_t declared = 0;  // the field that was refused (IHL bytes, total length, version)
  // "IPv4 total length 900 exceeds the 120 bytes received"
  [[nodiscard]] std::string message() const;
};

// What the bytes handed to the parser are: the whole datagram (a socket or
// TUN read: total length must fit in them), or what a capture kept of it
// (the header must be there; the payload may be cut by the snap length).
enum class Ipv4Extent : std::uint8_t { Whole, Captured };

// The header alone: version, IHL and total length checked against the bytes
// there; fragments are fine (an overlay packet may be one).
[[nodiscard]] Result<Ipv4Header, Ipv4Error> parse_ipv4_header(std::span<const std::byte> data,
                                                              Ipv4Extent extent = Ipv4Extent::Whole);
// A whole packet from a raw socket: the header, and no fragment (the kernel
// reassembles before raw delivery).
[[nodiscard]] Result<Ipv4Packet, Ipv4Error> parse_ipv4_packet(std::span<const std::byte> data);

}  // namespace advpnd
