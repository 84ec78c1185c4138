#include "capture/dissect.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "base/byte_io.h"
#include "base/ipv4_header.h"
#include "nhrp/gre.h"
#include "nhrp/types.h"

namespace advpnd::capture {

namespace {

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86DD;
// 802.1Q C-tag, 802.1ad S-tag, and the pre-standard Q-in-Q value.
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint16_t kEtherTypeQinQ = 0x88A8;
constexpr std::uint16_t kEtherTypeQinQLegacy = 0x9100;
constexpr std::size_t kMaxVlanTags = 8;  // more than any real network stacks

constexpr std::size_t kEthernetHeaderSize = 14;
constexpr std::size_t kVlanTagSize = 4;
constexpr std::size_t kSllHeaderSize = 16;
constexpr std::size_t kSll2HeaderSize = 20;
constexpr std::size_t kNullHeaderSize = 4;
constexpr std::size_t kIpv6HeaderSize = 40;

constexpr std::uint8_t kIpProtoGre = kIpProtocolGre;
constexpr std::uint8_t kIpProtoNhrp = 54;  // IANA "NARP"; Wireshark decodes it as NHRP
// IPv6 extension headers walked to reach GRE (RFC 8200 4.1, RFC 4302 for AH).
constexpr std::uint8_t kIpv6HopByHop = 0;
constexpr std::uint8_t kIpv6Routing = 43;
constexpr std::uint8_t kIpv6Fragment = 44;
constexpr std::uint8_t kIpv6Auth = 51;
constexpr std::uint8_t kIpv6DestOptions = 60;
constexpr std::size_t kMaxIpv6ExtensionHeaders = 8;

bool carries_nhrp(std::uint8_t protocol) { return protocol == kIpProtoGre || protocol == kIpProtoNhrp; }

// Field reads at fixed offsets. Callers check the frame is long enough
// before reading; these go through ByteReader anyway, so a wrong check
// yields 0 / an empty address, never a read out of bounds.
std::uint8_t byte_at(std::span<const std::byte> data, std::size_t at) {
  ByteReader reader(data);
  std::uint8_t value = 0;
  if (!reader.skip(at) || !reader.read_u8(value)) return 0;
  return value;
}

std::uint16_t u16_at(std::span<const std::byte> data, std::size_t at) {
  ByteReader reader(data);
  std::uint16_t value = 0;
  if (!reader.skip(at) || !reader.read_u16(value)) return 0;
  return value;
}

IpAddress address_at(std::span<const std::byte> data, std::size_t at, std::size_t size) {
  ByteReader reader(data);
  std::span<const std::byte> bytes;
  if (!reader.skip(at) || !reader.read_bytes(size, bytes)) return {};
  return IpAddress::from_bytes(bytes).value_or(IpAddress{});
}

CapturedNhrp failed(CapturedNhrp packet, std::string message) {
  packet.error = std::move(message);
  packet.nhrp.clear();
  return packet;
}

// What a link-layer header says follows it.
struct NetworkPacket {
  std::uint16_t ether_type = 0;
  std::span<const std::byte> bytes;
  IpAddress link_source;  // cooked captures of a GRE device: the outer IPv4 source
};

std::optional<NetworkPacket> by_version_nibble(std::span<const std::byte> bytes) {
  if (bytes.empty()) return std::nullopt;
  switch (byte_at(bytes, 0) >> 4) {
    case 4:
      return NetworkPacket{kEtherTypeIpv4, bytes, {}};
    case 6:
      return NetworkPacket{kEtherTypeIpv6, bytes, {}};
    default:
      return std::nullopt;
  }
}

// IEEE 802.3 with any number of 802.1Q / 802.1ad tags.
std::optional<NetworkPacket> strip_ethernet(std::span<const std::byte> frame) {
  if (frame.size() < kEthernetHeaderSize) return std::nullopt;
  std::size_t at = 12;
  std::uint16_t type = u16_at(frame, at);
  for (std::size_t tags = 0; type == kEtherTypeVlan || type == kEtherTypeQinQ || type == kEtherTypeQinQLegacy; ++tags) {
    if (tags == kMaxVlanTags || frame.size() < at + kVlanTagSize + 2) return std::nullopt;
    at += kVlanTagSize;
    type = u16_at(frame, at);
  }
  return NetworkPacket{type, frame.subspan(at + 2), {}};
}

// Cooked captures ("tcpdump -i any"). On an ip_gre device the kernel has
// already removed the outer IP and GRE headers: the protocol is 0x2001 and
// the link-layer address is the outer IPv4 source (NHRP-WIRE.md 1.2).
NetworkPacket cooked(std::span<const std::byte> frame, std::size_t header_size, std::uint16_t protocol,
                     std::size_t addr_len, std::size_t addr_at) {
  NetworkPacket out{protocol, frame.subspan(header_size), {}};
  if (addr_len == IpAddress::kIpv4Size) out.link_source = address_at(frame, addr_at, addr_len);
  return out;
}

std::optional<NetworkPacket> strip_sll(std::span<const std::byte> frame) {
  // packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
  if (frame.size() < kSllHeaderSize) return std::nullopt;
  return cooked(frame, kSllHeaderSize, u16_at(frame, 14), u16_at(frame, 4), 6);
}

std::optional<NetworkPacket> strip_sll2(std::span<const std::byte> frame) {
  // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
  if (frame.size() < kSll2HeaderSize) return std::nullopt;
  return cooked(frame, kSll2HeaderSize, u16_at(frame, 0), byte_at(frame, 11), 12);
}

std::optional<NetworkPacket> strip_link(int link_type, std::span<const std::byte> frame) {
  switch (link_type) {
    case kLinkEthernet:
      return strip_ethernet(frame);
    case kLinkLinuxSll:
      return strip_sll(frame);
    case kLinkLinuxSll2:
      return strip_sll2(frame);
    case kLinkRaw:
    case kLinkRawOpenBsd:
    case kLinkRawLinktype:
    case kLinkIpv4:
    case kLinkIpv6:
      return by_version_nibble(frame);
    case kLinkNull:
    case kLinkLoop:
      // The AF value differs by OS and byte order; the IP version nibble does not.
      if (frame.size() < kNullHeaderSize) return std::nullopt;
      return by_version_nibble(frame.subspan(kNullHeaderSize));
    default:
      return std::nullopt;
  }
}

// GRE (protocol 47) or bare NHRP (protocol 54) inside an IP datagram.
std::optional<CapturedNhrp> dissect_transport(std::uint8_t protocol, std::span<const std::byte> payload,
                                              CapturedNhrp out) {
  if (protocol == kIpProtoNhrp) {
    out.in_gre = false;
    out.nhrp.assign(payload.begin(), payload.end());
    return out;
  }
  // Data traffic in the same tunnel (protocol type 0x0800, 0x86DD) is not ours.
  if (payload.size() >= 4 && u16_at(payload, 2) != nhrp::kGreProtocolNhrp) return std::nullopt;
  auto gre = nhrp::decode_gre(payload);
  if (!gre) {
    return failed(std::move(out), "GRE header: " + std::string(gre.error().message()) + " at byte " +
                                      std::to_string(gre.error().offset) + " of " + std::to_string(payload.size()));
  }
  if (gre->header.protocol != nhrp::kGreProtocolNhrp) return std::nullopt;
  out.in_gre = true;
  out.gre_key = gre->header.key;
  out.nhrp.assign(gre->payload.begin(), gre->payload.end());
  return out;
}

// RFC 791, through the one IPv4 parser (base/ipv4_header.h) with a
// captured extent: the snap length may have cut the payload. Options (IHL >
// 5) are skipped; non-first fragments carry no NHRP header and are skipped;
// a first fragment cannot be decoded without reassembly. Only packets that
// carry NHRP are worth a complaint.
std::optional<CapturedNhrp> dissect_ipv4(std::span<const std::byte> ip) {
  auto parsed = parse_ipv4_header(ip, Ipv4Extent::Captured);
  if (!parsed) {
    const bool nhrp_inside = ip.size() > 9 && (byte_at(ip, 0) >> 4) == 4 && carries_nhrp(byte_at(ip, 9));
    if (!nhrp_inside) return std::nullopt;
    CapturedNhrp out;
    if (ip.size() >= kIpv4MinHeaderSize) {
      out.outer_source = address_at(ip, 12, IpAddress::kIpv4Size);
      out.outer_destination = address_at(ip, 16, IpAddress::kIpv4Size);
    }
    return failed(std::move(out), parsed.error().message());
  }
  const Ipv4Header& header = *parsed;
  if (!carries_nhrp(header.protocol) || header.fragment_offset() != 0) return std::nullopt;
  CapturedNhrp out;
  out.outer_source = header.source;
  out.outer_destination = header.destination;
  if ((header.fragment & kIpv4MoreFragments) != 0) {
    return failed(std::move(out), "first fragment of a fragmented IPv4 packet (id " +
                                      std::to_string(header.identification) + "); reassembly is not supported");
  }
  const std::size_t end = std::min<std::size_t>(header.total_length, ip.size());
  return dissect_transport(header.protocol, ip.subspan(header.header_size, end - header.header_size), std::move(out));
}

// RFC 8200. Hop-by-hop, routing, destination options, fragment and AH headers
// are walked to the upper-layer protocol.
std::optional<CapturedNhrp> dissect_ipv6(std::span<const std::byte> ip) {
  if (ip.size() < kIpv6HeaderSize) {
    if (ip.size() > 6 && carries_nhrp(byte_at(ip, 6))) {
      return failed({}, "IPv6 header truncated: " + std::to_string(ip.size()) + " of 40 bytes captured");
    }
    return std::nullopt;
  }
  const std::size_t payload_length = u16_at(ip, 4);
  std::uint8_t next = byte_at(ip, 6);
  CapturedNhrp out;
  out.outer_source = address_at(ip, 8, IpAddress::kIpv6Size);
  out.outer_destination = address_at(ip, 24, IpAddress::kIpv6Size);
  // Payload length 0 is a jumbogram (RFC 2675): take everything captured.
  std::size_t end = payload_length == 0 ? ip.size() : std::min(ip.size(), kIpv6HeaderSize + payload_length);
  std::size_t at = kIpv6HeaderSize;
  for (std::size_t walked = 0; !carries_nhrp(next); ++walked) {
    if (walked == kMaxIpv6ExtensionHeaders || end < at + 8) return std::nullopt;
    const std::uint8_t length_field = byte_at(ip, at + 1);
    std::size_t length = 0;
    switch (next) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestOptions:
        length = (std::size_t{length_field} + 1) * 8;
        break;
      case kIpv6Auth:
        length = (std::size_t{length_field} + 2) * 4;
        break;
      case kIpv6Fragment:
        length = 8;
        if ((u16_at(ip, at + 2) & 0xFFF8) != 0) return std::nullopt;  // not the first fragment
        if ((u16_at(ip, at + 2) & 0x0001) != 0 && carries_nhrp(byte_at(ip, at))) {
          return failed(std::move(out), "first fragment of a fragmented IPv6 packet; reassembly is not supported");
        }
        break;
      default:
        return std::nullopt;  // ICMPv6, TCP, UDP, ESP...: not NHRP
    }
    if (end < at + length) return std::nullopt;
    next = byte_at(ip, at);
    at += length;
  }
  return dissect_transport(next, ip.subspan(at, end - at), std::move(out));
}

}  // namespace

bool link_type_supported(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case kLinkRawOpenBsd:
    case kLinkRawLinktype:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2:
      return true;
    default:
      return false;
  }
}

std::optional<CapturedNhrp> dissect_frame(int link_type, std::span<const std::byte> frame) {
  const auto network = strip_link(link_type, frame);
  if (!network) return std::nullopt;
  switch (network->ether_type) {
    case kEtherTypeIpv4:
      return dissect_ipv4(network->bytes);
    case kEtherTypeIpv6:
      return dissect_ipv6(network->bytes);
    case nhrp::kGreProtocolNhrp: {
      // Captured on the GRE device itself: GRE and outer IP already removed.
      CapturedNhrp out;
      out.outer_source = network->link_source;
      out.nhrp.assign(network->bytes.begin(), network->bytes.end());
      return out;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace advpnd::capture
