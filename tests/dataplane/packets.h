// Test packets for the dataplane tests: IPv4/UDP datagrams with a valid
// header checksum, built byte by byte (RFC 791 3.1, RFC 768).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/byte_io.h"
#include "base/ip_address.h"
#include "dataplane/ipv4_packet.h"
#include "shortcut/dataplane.h"

namespace advpnd::dataplane::test {

struct UdpSpec {
  IpAddress source;
  IpAddress destination;
  std::size_t total_size = 100;  // whole datagram, >= 28
  std::uint8_t tos = 0;
  bool dont_fragment = false;
  std::uint8_t ttl = 64;
  std::uint16_t identification = 0;
  std::uint16_t source_port = 40000;
  std::uint16_t destination_port = 9;
  std::uint32_t sequence = 0;  // written at the start of the UDP payload
};

inline std::vector<std::byte> udp_packet(const UdpSpec& spec) {
  std::vector<std::byte> packet(spec.total_size < 32 ? 32 : spec.total_size);
  ByteWriter w(packet);
  w.u8(0x45);
  w.u8(spec.tos);
  w.u16(static_cast<std::uint16_t>(packet.size()));
  w.u16(spec.identification);
  w.u16(spec.dont_fragment ? kFlagDontFragment : 0);
  w.u8(spec.ttl);
  w.u8(17);
  w.u16(0);
  w.bytes(spec.source.bytes());
  w.bytes(spec.destination.bytes());
  w.u16(spec.source_port);
  w.u16(spec.destination_port);
  w.u16(static_cast<std::uint16_t>(packet.size() - kIpv4HeaderSize));
  w.u16(0);  // UDP checksum 0: none (RFC 768)
  w.u32(spec.sequence);
  for (std::size_t i = w.offset(); i < packet.size(); ++i) packet[i] = std::byte{static_cast<std::uint8_t>(i)};
  const std::uint16_t checksum = ipv4_checksum(std::span<const std::byte>(packet).first(kIpv4HeaderSize));
  packet[10] = std::byte{static_cast<std::uint8_t>(checksum >> 8)};
  packet[11] = std::byte{static_cast<std::uint8_t>(checksum)};
  return packet;
}

// The sequence number udp_packet() wrote, or -1.
inline std::int64_t sequence_of(std::span<const std::byte> packet) {
  ByteReader r(packet);
  std::uint32_t sequence = 0;
  if (!r.skip(28) || !r.read_u32(sequence)) return -1;
  return sequence;
}

inline std::uint16_t u16_at(std::span<const std::byte> data, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(data[at]) << 8) |
                                    std::to_integer<unsigned>(data[at + 1]));
}

// A dataplane's counters of `peer`, zero when it has none (never a bad optional access).
template <class Dataplane>
shortcut::PeerCounters counters_of(const Dataplane& dataplane, const IpAddress& peer) {
  return dataplane.counters(peer).value_or(shortcut::PeerCounters{});
}

}  // namespace advpnd::dataplane::test
