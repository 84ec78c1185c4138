// Hand-built frames and capture files for the capture tests: link layers,
// IPv4/IPv6, GRE, and pcap/pcapng file images, so that every link type the
// reader accepts is exercised even where no real capture exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include "base/ip_address.h"

namespace advpnd::test {

using Bytes = std::vector<std::byte>;

inline void put8(Bytes& out, unsigned v) { out.push_back(static_cast<std::byte>(v & 0xFF)); }
inline void put16(Bytes& out, unsigned v) {
  put8(out, v >> 8);
  put8(out, v);
}
inline void put32(Bytes& out, std::uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xFFFF);
}
// Little-endian, for pcap/pcapng file headers written as a little-endian host would.
inline void put16le(Bytes& out, unsigned v) {
  put8(out, v);
  put8(out, v >> 8);
}
inline void put32le(Bytes& out, std::uint32_t v) {
  put16le(out, v & 0xFFFF);
  put16le(out, v >> 16);
}
inline void append(Bytes& out, std::span<const std::byte> more) { out.insert(out.end(), more.begin(), more.end()); }
inline Bytes concat(std::initializer_list<std::span<const std::byte>> parts) {
  Bytes out;
  for (auto part : parts) append(out, part);
  return out;
}

// Some bytes standing in for an NHRP packet (the dissector does not decode NHRP).
inline Bytes fake_nhrp(std::size_t size = 40) {
  Bytes out;
  for (std::size_t i = 0; i < size; ++i) put8(out, static_cast<unsigned>(i + 1));
  return out;
}

inline Bytes gre(std::span<const std::byte> payload, unsigned protocol = 0x2001,
                 std::optional<std::uint32_t> key = {}) {
  Bytes out;
  put16(out, key ? 0x2000 : 0);
  put16(out, protocol);
  if (key) put32(out, *key);
  append(out, payload);
  return out;
}

struct Ipv4Options {
  unsigned protocol = 47;
  std::size_t option_bytes = 0;  // multiple of 4
  unsigned fragment = 0;         // flags + offset field
  int total_length_adjust = 0;   // to declare less (or more) than is there
};

inline Bytes ipv4(const IpAddress& src, const IpAddress& dst, std::span<const std::byte> payload,
                  Ipv4Options options = {}) {
  Bytes out;
  const std::size_t header = 20 + options.option_bytes;
  put8(out, 0x40 | static_cast<unsigned>(header / 4));
  put8(out, 0xC0);
  put16(out, static_cast<unsigned>(static_cast<int>(header + payload.size()) + options.total_length_adjust));
  put16(out, 1);
  put16(out, options.fragment);
  put8(out, 255);
  put8(out, options.protocol);
  put16(out, 0);
  append(out, src.bytes());
  append(out, dst.bytes());
  for (std::size_t i = 0; i < options.option_bytes; ++i) put8(out, 1);  // NOP options
  append(out, payload);
  return out;
}

inline Bytes ipv6(const IpAddress& src, const IpAddress& dst, unsigned next_header,
                  std::span<const std::byte> payload) {
  Bytes out;
  put32(out, 0x6C000000);
  put16(out, static_cast<unsigned>(payload.size()));
  put8(out, next_header);
  put8(out, 255);
  append(out, src.bytes());
  append(out, dst.bytes());
  append(out, payload);
  return out;
}

inline Bytes ethernet(unsigned ether_type, std::span<const std::byte> payload,
                      std::initializer_list<unsigned> tag_types = {}) {
  Bytes out;
  for (int i = 0; i < 12; ++i) put8(out, 0x02);
  for (const unsigned tag : tag_types) {
    put16(out, tag);
    put16(out, 79);  // VLAN ID
  }
  put16(out, ether_type);
  append(out, payload);
  return out;
}

// Linux cooked v1: packet type, ARPHRD, address length, address (8), protocol.
inline Bytes sll(unsigned protocol, std::span<const std::byte> payload, std::span<const std::byte> address = {}) {
  Bytes out;
  put16(out, 0);
  put16(out, 778);  // ARPHRD_IPGRE
  put16(out, static_cast<unsigned>(address.size()));
  Bytes addr(address.begin(), address.end());
  addr.resize(8);
  append(out, addr);
  put16(out, protocol);
  append(out, payload);
  return out;
}

// Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address (8).
inline Bytes sll2(unsigned protocol, std::span<const std::byte> payload) {
  Bytes out;
  put16(out, protocol);
  put16(out, 0);
  put32(out, 3);
  put16(out, 1);  // ARPHRD_ETHER
  put8(out, 0);
  put8(out, 6);
  for (int i = 0; i < 8; ++i) put8(out, i < 6 ? 0x02 : 0);
  append(out, payload);
  return out;
}

// A classic pcap file image (little-endian, microseconds).
inline Bytes pcap_file(std::uint32_t link_type, const std::vector<Bytes>& frames) {
  Bytes out;
  put32le(out, 0xA1B2C3D4);
  put16le(out, 2);
  put16le(out, 4);
  put32le(out, 0);
  put32le(out, 0);
  put32le(out, 65535);
  put32le(out, link_type);
  std::uint32_t second = 1700000000;
  for (const auto& frame : frames) {
    put32le(out, second++);
    put32le(out, 0);
    put32le(out, static_cast<std::uint32_t>(frame.size()));
    put32le(out, static_cast<std::uint32_t>(frame.size()));
    append(out, frame);
  }
  return out;
}

// A pcapng file image: Section Header, one Interface Description, one
// Enhanced Packet Block per frame (pcapng spec, draft-ietf-opsawg-pcapng).
inline Bytes pcapng_file(std::uint16_t link_type, const std::vector<Bytes>& frames) {
  Bytes out;
  // SHB: type, length 28, byte-order magic, version 1.0, section length -1.
  put32le(out, 0x0A0D0D0A);
  put32le(out, 28);
  put32le(out, 0x1A2B3C4D);
  put16le(out, 1);
  put16le(out, 0);
  put32le(out, 0xFFFFFFFF);
  put32le(out, 0xFFFFFFFF);
  put32le(out, 28);
  // IDB: type 1, length 20, link type, reserved, snaplen.
  put32le(out, 1);
  put32le(out, 20);
  put16le(out, link_type);
  put16le(out, 0);
  put32le(out, 65535);
  put32le(out, 20);
  for (const auto& frame : frames) {
    const std::size_t padded = (frame.size() + 3) & ~std::size_t{3};
    const auto length = static_cast<std::uint32_t>(32 + padded);
    put32le(out, 6);
    put32le(out, length);
    put32le(out, 0);  // interface 0
    put32le(out, 0);  // timestamp high
    put32le(out, 0);  // timestamp low
    put32le(out, static_cast<std::uint32_t>(frame.size()));
    put32le(out, static_cast<std::uint32_t>(frame.size()));
    append(out, frame);
    for (std::size_t i = frame.size(); i < padded; ++i) put8(out, 0);
    put32le(out, length);
  }
  return out;
}

}  // namespace advpnd::test
