#include "dataplane/ipv4_packet.h"

#include <algorithm>

#include "base/byte_io.h"

namespace advpnd::dataplane {
namespace {

constexpr std::uint8_t kIcmpDestinationUnreachable = 3;  // RFC 792
constexpr std::uint8_t kIcmpFragmentationNeeded = 4;     // code of type 3
constexpr std::uint8_t kIcmpErrorTos = 0xC0;             // RFC 1812 4.3.2.5: precedence 6 allowed for ICMP errors
constexpr std::uint8_t kIcmpErrorTtl = 64;
constexpr std::size_t kQuotedDataBytes = 8;  // RFC 792: "the first 64 bits of the original datagram's data"
constexpr std::size_t kTtlOffset = 8;
constexpr std::size_t kChecksumOffset = 10;

// ICMP types that are error messages (RFC 1122 3.2.2: never answered with an error).
bool is_icmp_error_type(std::uint8_t type) {
  switch (type) {
    case 3:   // destination unreachable
    case 4:   // source quench
    case 5:   // redirect
    case 11:  // time exceeded
    case 12:  // parameter problem
      return true;
    default:
      return false;
  }
}

std::uint32_t ones_complement_sum(std::span<const std::byte> data) {
  std::uint32_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += (std::to_integer<std::uint32_t>(data[i]) << 8) | std::to_integer<std::uint32_t>(data[i + 1]);
  }
  if (i < data.size()) sum += std::to_integer<std::uint32_t>(data[i]) << 8;  // odd byte: the high half
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

}  // namespace

std::string_view to_string(InnerIpv4Error error) {
  switch (error) {
    case InnerIpv4Error::NotIpv4:
      return "not IPv4";
    case InnerIpv4Error::Truncated:
      return "IPv4 header truncated";
    case InnerIpv4Error::BadHeaderLength:
      return "bad IPv4 header length";
    case InnerIpv4Error::BadTotalLength:
      return "bad IPv4 total length";
  }
  return "IPv4 error";
}

std::uint16_t ipv4_checksum(std::span<const std::byte> data) {
  return static_cast<std::uint16_t>(~fold(ones_complement_sum(data)));
}

Result<InnerIpv4, InnerIpv4Error> parse_inner_ipv4(std::span<const std::byte> packet) {
  if (packet.empty() || (std::to_integer<unsigned>(packet[0]) >> 4U) != 4) return fail(InnerIpv4Error::NotIpv4);
  auto header = parse_ipv4_header(packet);
  if (header) return *header;
  switch (header.error().code) {
    case Ipv4Errc::Truncated:
      return fail(InnerIpv4Error::Truncated);
    case Ipv4Errc::BadHeaderLength:
      return fail(InnerIpv4Error::BadHeaderLength);
    case Ipv4Errc::BadTotalLength:
      return fail(InnerIpv4Error::BadTotalLength);
    case Ipv4Errc::NotVersion4:
    case Ipv4Errc::Fragment:
      break;  // checked above / not refused by parse_ipv4_header
  }
  return fail(InnerIpv4Error::NotIpv4);
}

bool may_send_icmp_error_about(const InnerIpv4& header, std::span<const std::byte> packet) {
  if (header.fragment_offset() != 0) return false;
  const std::uint8_t first = header.source.byte(0);
  if (first == 0 || first == 127 || first >= 224) return false;  // this-net, loopback, multicast, class E, broadcast
  if (header.protocol == kIpProtocolIcmp) {
    if (packet.size() <= header.header_size) return false;  // no ICMP type to judge by
    if (is_icmp_error_type(std::to_integer<std::uint8_t>(packet[header.header_size]))) return false;
  }
  return true;
}

std::span<const std::byte> build_fragmentation_needed(std::span<const std::byte> original, const IpAddress& from,
                                                      std::uint16_t next_hop_mtu, std::span<std::byte> out) {
  auto parsed = parse_inner_ipv4(original);
  if (!parsed || from.family() != AddressFamily::Ipv4) return {};
  const InnerIpv4& h = *parsed;
  const std::size_t quoted = std::min<std::size_t>(h.total_length, h.header_size + kQuotedDataBytes);
  const std::size_t icmp_size = 8 + quoted;
  const std::size_t total = kIpv4HeaderSize + icmp_size;
  if (out.size() < total) return {};

  ByteWriter w(out.first(total));
  // IPv4 header (RFC 791 3.1); DF clear, identification 0 (RFC 6864: fine for atomic datagrams).
  w.u8(0x45);
  w.u8(kIcmpErrorTos);
  w.u16(static_cast<std::uint16_t>(total));
  w.u16(0);
  w.u16(0);
  w.u8(kIcmpErrorTtl);
  w.u8(kIpProtocolIcmp);
  w.u16(0);  // header checksum, patched below
  w.bytes(from.bytes());
  w.bytes(h.source.bytes());
  // ICMP (RFC 792 "Destination Unreachable Message", RFC 1191 section 4).
  const std::size_t icmp_at = w.offset();
  w.u8(kIcmpDestinationUnreachable);
  w.u8(kIcmpFragmentationNeeded);
  w.u16(0);  // ICMP checksum, patched below
  w.u16(0);  // unused
  w.u16(next_hop_mtu);
  w.bytes(original.first(quoted));
  if (!w.ok()) return {};
  const std::span<std::byte> written = w.written();
  w.patch_u16(kChecksumOffset, ipv4_checksum(written.first(kIpv4HeaderSize)));
  w.patch_u16(icmp_at + 2, ipv4_checksum(written.subspan(icmp_at)));
  return written;
}

bool decrement_ttl(std::span<std::byte> packet) {
  if (!parse_inner_ipv4(packet)) return false;
  const auto ttl = std::to_integer<std::uint8_t>(packet[kTtlOffset]);
  if (ttl <= 1) return false;
  // The TTL is the high byte of the 16-bit word {TTL, protocol}.
  const auto protocol = std::to_integer<std::uint16_t>(packet[kTtlOffset + 1]);
  const auto old_word = static_cast<std::uint16_t>((ttl << 8) | protocol);
  const auto new_word = static_cast<std::uint16_t>(((ttl - 1) << 8) | protocol);
  const auto old_checksum = static_cast<std::uint16_t>((std::to_integer<unsigned>(packet[kChecksumOffset]) << 8) |
                                                       std::to_integer<unsigned>(packet[kChecksumOffset + 1]));
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
  const std::uint32_t sum = static_cast<std::uint16_t>(~old_checksum) +
                            static_cast<std::uint32_t>(static_cast<std::uint16_t>(~old_word)) + new_word;
  const auto new_checksum = static_cast<std::uint16_t>(~fold(sum));
  packet[kTtlOffset] = std::byte{static_cast<std::uint8_t>(ttl - 1)};
  packet[kChecksumOffset] = std::byte{static_cast<std::uint8_t>(new_checksum >> 8)};
  packet[kChecksumOffset + 1] = std::byte{static_cast<std::uint8_t>(new_checksum)};
  return true;
}

}  // namespace advpnd::dataplane
