#include "base/ipv4_header.h"

#include "base/byte_io.h"

namespace advpnd {

std::string Ipv4Error::message() const {
  const std::string got = std::to_string(received);
  switch (code) {
    case Ipv4Errc::Truncated:
      return "IPv4 header truncated: " + got + " bytes received, at least 20 needed";
    case Ipv4Errc::NotVersion4:
      return "IP version " + std::to_string(declared) + " is not 4";
    case Ipv4Errc::BadHeaderLength:
      if (declared < kIpv4MinHeaderSize) return "IPv4 header length " + std::to_string(declared) + " < 20";
      return "IPv4 options truncated: header of " + std::to_string(declared) + " bytes, " + got + " received";
    case Ipv4Errc::BadTotalLength:
      return "IPv4 total length " + std::to_string(declared) + " is below the header length or exceeds the " + got +
             " bytes received";
    case Ipv4Errc::Fragment:
      return "IPv4 fragment (the kernel reassembles before raw delivery)";
  }
  return "IPv4 header error";
}

// RFC 791 section 3.1.
Result<Ipv4Header, Ipv4Error> parse_ipv4_header(std::span<const std::byte> data, Ipv4Extent extent) {
  ByteReader reader(data);
  std::uint8_t version_ihl = 0;
  Ipv4Header h;
  std::uint16_t checksum = 0;
  std::span<const std::byte> source;
  std::span<const std::byte> destination;
  if (!reader.read_u8(version_ihl) || !reader.read_u8(h.tos) || !reader.read_u16(h.total_length) ||
      !reader.read_u16(h.identification) || !reader.read_u16(h.fragment) || !reader.read_u8(h.ttl) ||
      !reader.read_u8(h.protocol) || !reader.read_u16(checksum) || !reader.read_bytes(4, source) ||
      !reader.read_bytes(4, destination)) {
    return fail(Ipv4Error{Ipv4Errc::Truncated, data.size(), 0});
  }
  const unsigned version = version_ihl >> 4U;
  if (version != 4) return fail(Ipv4Error{Ipv4Errc::NotVersion4, data.size(), version});
  h.header_size = static_cast<std::size_t>(version_ihl & 0x0fU) * 4;
  if (h.header_size < kIpv4MinHeaderSize || h.header_size > data.size()) {
    return fail(Ipv4Error{Ipv4Errc::BadHeaderLength, data.size(), h.header_size});
  }
  if (h.total_length < h.header_size || (extent == Ipv4Extent::Whole && h.total_length > data.size())) {
    return fail(Ipv4Error{Ipv4Errc::BadTotalLength, data.size(), h.total_length});
  }
  h.source.assign(source);
  h.destination.assign(destination);
  return h;
}

Result<Ipv4Packet, Ipv4Error> parse_ipv4_packet(std::span<const std::byte> data) {
  auto header = parse_ipv4_header(data);
  if (!header) return fail(header.error());
  const Ipv4Header& h = *header;
  if ((h.fragment & (kIpv4MoreFragments | kIpv4FragmentOffsetMask)) != 0) {
    return fail(Ipv4Error{Ipv4Errc::Fragment, data.size(), h.fragment});
  }
  // Options (IHL > 5) are skipped, not interpreted: nothing in them concerns GRE.
  return Ipv4Packet{h, data.subspan(h.header_size, h.total_length - h.header_size)};
}

}  // namespace advpnd
