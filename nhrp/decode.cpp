// NHRP decoder (RFC 2332 5.2, 5.3). Validate before interpreting: every
// length and offset is checked against the bytes that remain before it is
// used, and a refusal names the field, its offset and the numbers involved.
#include <cstring>
#include <vector>

#include "base/byte_io.h"
#include "nhrp/codec.h"

namespace advpnd::nhrp {
namespace {

constexpr std::size_t kOffsetAfn = 0;
constexpr std::size_t kOffsetProtocolType = 2;
constexpr std::size_t kOffsetPacketSize = 10;
constexpr std::size_t kOffsetChecksum = 12;
constexpr std::size_t kOffsetExtensionOffset = 14;
constexpr std::size_t kOffsetVersion = 16;
constexpr std::size_t kOffsetType = 17;
constexpr std::size_t kOffsetShtl = 18;
constexpr std::size_t kOffsetSstl = 19;
constexpr std::size_t kOffsetSrcProtoLen = 20;
constexpr std::size_t kOffsetDstProtoLen = 21;
constexpr std::size_t kCommonHeaderEnd = kFixedHeaderSize + kCommonHeaderSize;

// Type/length bytes (RFC 2332 5.2.0.1): bit 7 reserved, bit 6 E.164, bits 5-0 length.
constexpr std::uint8_t kTypeLengthReserved = 0x80;
constexpr std::uint8_t kTypeLengthE164 = 0x40;
constexpr std::uint8_t kTypeLengthMask = 0x3F;

DecodeError error(DecodeErrc code, std::string_view field, std::size_t offset, std::size_t needed,
                  std::size_t available) {
  return DecodeError{code, field, offset, needed, available};
}

struct AddressSizes {
  std::size_t nbma = 0;
  std::size_t protocol = 0;
};

// Checks one type/length byte; E.164 NBMA addresses are never used on GRE
// and refused rather than misread.
Status<DecodeError> check_type_length(std::uint8_t tl, std::string_view field, std::size_t offset,
                                      std::size_t nbma_size) {
  if ((tl & kTypeLengthReserved) != 0 || (tl & kTypeLengthE164) != 0) {
    return fail(error(DecodeErrc::BadTypeLength, field, offset, 0, tl));
  }
  const std::size_t length = tl & kTypeLengthMask;
  if (length != 0 && length != nbma_size) {
    return fail(error(DecodeErrc::BadAddressLength, field, offset, nbma_size, length));
  }
  return {};
}

Status<DecodeError> check_protocol_length(std::uint8_t length, std::string_view field, std::size_t offset,
                                          std::size_t protocol_size) {
  if (length != 0 && length != protocol_size) {
    return fail(error(DecodeErrc::BadAddressLength, field, offset, protocol_size, length));
  }
  return {};
}

// Reads `length` address bytes at the reader's position. `base` is the
// absolute offset of the reader's first byte, for error reports.
inline Status<DecodeError> read_address(ByteReader& reader, std::size_t length, std::size_t base,
                                        DecodeErrc truncated_code, std::string_view field, IpAddress& out) {
  std::span<const std::byte> bytes;
  if (!reader.read_bytes(length, bytes)) [[unlikely]] {
    return fail(error(truncated_code, field, base + reader.offset(), length, reader.remaining()));
  }
  // Lengths were validated against the family: 0, 4 or 16 bytes here.
  out.assign(bytes);
  return {};
}

// One CIE (RFC 2332 5.2.0.2) from `reader`; `base` as in read_address.
Status<DecodeError> read_cie(ByteReader& reader, std::size_t base, const AddressSizes& sizes,
                             DecodeErrc code, Cie& cie) {
  const std::size_t start = base + reader.offset();
  if (reader.remaining() < kCieHeaderSize) {
    return fail(error(code, "CIE", start, kCieHeaderSize, reader.remaining()));
  }
  std::uint8_t raw_code = 0;
  std::uint8_t nbma_tl = 0;
  std::uint8_t subaddress_tl = 0;
  std::uint8_t protocol_length = 0;
  // The header fits (checked above), so these reads cannot fail.
  (void)reader.read_u8(raw_code);
  (void)reader.read_u8(cie.prefix_length);
  (void)reader.read_u16(cie.reserved);
  (void)reader.read_u16(cie.mtu);
  (void)reader.read_u16(cie.holding_time);
  (void)reader.read_u8(nbma_tl);
  (void)reader.read_u8(subaddress_tl);
  (void)reader.read_u8(protocol_length);
  (void)reader.read_u8(cie.preference);
  cie.code = static_cast<CieCode>(raw_code);

  if (auto s = check_type_length(nbma_tl, "CIE client NBMA type/length", start + 8, sizes.nbma); !s) return s;
  if (auto s = check_type_length(subaddress_tl, "CIE client NBMA subaddress type/length", start + 9, sizes.nbma); !s) {
    return s;
  }
  if (auto s = check_protocol_length(protocol_length, "CIE client protocol length", start + 10, sizes.protocol); !s) {
    return s;
  }
  if (auto s = read_address(reader, nbma_tl & kTypeLengthMask, base, code, "CIE client NBMA address", cie.nbma); !s) {
    return s;
  }
  if (auto s = read_address(reader, subaddress_tl & kTypeLengthMask, base, code, "CIE client NBMA subaddress",
                            cie.nbma_subaddress);
      !s) {
    return s;
  }
  return read_address(reader, protocol_length, base, code, "CIE client protocol address", cie.protocol);
}

// Reads CIEs until the reader is exhausted, reusing `out`'s capacity.
Status<DecodeError> read_cie_list(std::span<const std::byte> bytes, std::size_t base, const AddressSizes& sizes,
                                  DecodeErrc code, std::vector<Cie>& out) {
  out.clear();
  ByteReader reader(bytes);
  while (!reader.at_end()) {
    Cie& cie = out.emplace_back();
    if (auto s = read_cie(reader, base, sizes, code, cie); !s) {
      return s;
    }
  }
  return {};
}

// Extensions (RFC 2332 5.3) from ar$extoff to ar$pktsz. Elements of `out`
// are reused so that a warm Packet decodes without allocating.
Status<DecodeError> read_extensions(std::span<const std::byte> packet, std::size_t extoff,
                                    const AddressSizes& sizes, Packet& out) {
  std::size_t used = 0;
  ByteReader reader(packet.subspan(extoff));
  out.trailer.clear();
  // Cisco and FRR send 4-7 extensions: one allocation instead of four.
  constexpr std::size_t kTypicalExtensions = 8;
  if (out.extensions.capacity() < kTypicalExtensions) out.extensions.reserve(kTypicalExtensions);
  while (!reader.at_end()) {
    const std::size_t at = extoff + reader.offset();
    std::uint16_t raw_type = 0;
    std::uint16_t length = 0;
    if (!reader.read_u16(raw_type) || !reader.read_u16(length)) {
      return fail(error(DecodeErrc::BadExtension, "extension header", at, kExtensionHeaderSize,
                        packet.size() - at));
    }
    std::span<const std::byte> value;
    if (!reader.read_bytes(length, value)) {
      return fail(error(DecodeErrc::BadExtension, "extension length", at + 2, length, reader.remaining()));
    }
    if (used == out.extensions.size()) {
      out.extensions.emplace_back();
    }
    Extension& ext = out.extensions[used++];
    ext.raw_type = raw_type;
    ext.cies.clear();
    ext.value.clear();
    const ExtensionType type = ext.type();
    if (type == ExtensionType::End) {
      if (length != 0) {
        return fail(error(DecodeErrc::BadExtension, "End extension length", at + 2, 0, length));
      }
      // Whatever follows End inside ar$pktsz is kept, not parsed: OpenNHRP
      // pads Error Indications with 16 bytes for Cisco (NHRP-WIRE.md 6).
      std::span<const std::byte> rest;
      (void)reader.read_bytes(reader.remaining(), rest);
      out.trailer.assign(rest.begin(), rest.end());
      break;
    }
    if (carries_cies(type)) {
      auto parsed = read_cie_list(value, at + kExtensionHeaderSize, sizes, DecodeErrc::BadExtension, ext.cies);
      if (!parsed) {
        // Type 9 is also RFC 2735 Device Capabilities (8 bytes, not CIEs):
        // keep such a value as bytes. The RFC 2332 types must hold CIEs.
        if (type != ExtensionType::CiscoNatAddress) {
          return parsed;
        }
        ext.cies.clear();
        ext.value.assign(value.begin(), value.end());
      }
    } else {
      ext.value.assign(value.begin(), value.end());
    }
  }
  out.extensions.resize(used);
  return {};
}

}  // namespace

Status<DecodeError> decode_into(std::span<const std::byte> data, Packet& out, DecodeOptions options) {
  if (data.size() < kFixedHeaderSize) {
    return fail(error(DecodeErrc::Truncated, "fixed header", 0, kFixedHeaderSize, data.size()));
  }
  ByteReader header(data);
  std::uint16_t packet_size = 0;
  std::uint16_t extoff = 0;
  std::uint8_t raw_type = 0;
  std::uint8_t shtl = 0;
  std::uint8_t sstl = 0;
  // 20 bytes are available (checked above): these reads cannot fail.
  (void)header.read_u16(out.afn);
  (void)header.read_u16(out.protocol_type);
  for (auto& b : out.protocol_snap) (void)header.read_u8(b);
  (void)header.read_u8(out.hop_count);
  (void)header.read_u16(packet_size);
  (void)header.read_u16(out.received_checksum);
  (void)header.read_u16(extoff);
  (void)header.read_u8(out.version);
  (void)header.read_u8(raw_type);
  (void)header.read_u8(shtl);
  (void)header.read_u8(sstl);

  if (packet_size < kFixedHeaderSize) {
    return fail(error(DecodeErrc::PacketSizeTooSmall, "ar$pktsz", kOffsetPacketSize, kFixedHeaderSize, packet_size));
  }
  if (packet_size > data.size()) {
    return fail(error(DecodeErrc::PacketSizeExceedsData, "ar$pktsz", kOffsetPacketSize, packet_size, data.size()));
  }
  const std::span<const std::byte> packet = data.first(packet_size);
  if (out.version != kVersion) {
    return fail(error(DecodeErrc::UnsupportedVersion, "ar$op.version", kOffsetVersion, kVersion, out.version));
  }
  if (raw_type < kMinPacketType || raw_type > kMaxPacketType) {
    return fail(error(DecodeErrc::UnknownPacketType, "ar$op.type", kOffsetType, kMaxPacketType, raw_type));
  }
  out.type = static_cast<PacketType>(raw_type);

  AddressSizes sizes;
  if (out.afn == kAfnIpv4) {
    sizes.nbma = IpAddress::kIpv4Size;
  } else if (out.afn == kAfnIpv6) {
    sizes.nbma = IpAddress::kIpv6Size;
  } else {
    return fail(error(DecodeErrc::UnsupportedAddressFamily, "ar$afn", kOffsetAfn, kAfnIpv4, out.afn));
  }
  if (out.protocol_type == kProtocolIpv4) {
    sizes.protocol = IpAddress::kIpv4Size;
  } else if (out.protocol_type == kProtocolIpv6) {
    sizes.protocol = IpAddress::kIpv6Size;
  } else {
    return fail(error(DecodeErrc::UnsupportedAddressFamily, "ar$pro.type", kOffsetProtocolType, kProtocolIpv4,
                      out.protocol_type));
  }
  if (auto s = check_type_length(shtl, "ar$shtl", kOffsetShtl, sizes.nbma); !s) return s;
  if ((shtl & kTypeLengthMask) == 0) {
    return fail(error(DecodeErrc::BadAddressLength, "ar$shtl", kOffsetShtl, sizes.nbma, 0));
  }
  if (auto s = check_type_length(sstl, "ar$sstl", kOffsetSstl, sizes.nbma); !s) return s;

  if (options.verify_checksum && internet_checksum(packet) != 0) [[unlikely]] {
    // Report the checksum these bytes need next to the one received.
    std::vector<std::byte> zeroed(packet.begin(), packet.end());
    zeroed[kOffsetChecksum] = zeroed[kOffsetChecksum + 1] = std::byte{0};
    return fail(error(DecodeErrc::ChecksumMismatch, "ar$chksum", kOffsetChecksum, internet_checksum(zeroed),
                      out.received_checksum));
  }

  // The mandatory part runs to ar$extoff, or to ar$pktsz without extensions.
  // An extension area must hold at least one extension: FRR requires
  // extoff < pktsz, and an empty one could not be re-encoded byte for byte.
  if (extoff != 0 && (extoff < kCommonHeaderEnd || extoff >= packet_size)) {
    return fail(error(DecodeErrc::BadExtensionOffset, "ar$extoff", kOffsetExtensionOffset,
                      extoff < kCommonHeaderEnd ? kCommonHeaderEnd : packet_size, extoff));
  }
  const std::size_t mandatory_end = extoff != 0 ? extoff : packet_size;
  if (mandatory_end < kCommonHeaderEnd) {
    return fail(error(DecodeErrc::Truncated, "mandatory part header", kFixedHeaderSize, kCommonHeaderSize,
                      mandatory_end - kFixedHeaderSize));
  }
  ByteReader mandatory(packet.first(mandatory_end));
  (void)mandatory.skip(kFixedHeaderSize);
  std::uint8_t src_proto_length = 0;
  std::uint8_t dst_proto_length = 0;
  (void)mandatory.read_u8(src_proto_length);
  (void)mandatory.read_u8(dst_proto_length);
  (void)mandatory.read_u16(out.flags);
  out.request_id = 0;
  out.error_code = ErrorCode::None;
  out.error_offset = 0;
  out.traffic_code = kTrafficCodeRedirect;
  out.traffic_unused = 0;
  if (out.type == PacketType::ErrorIndication) {
    std::uint16_t code = 0;
    (void)mandatory.read_u16(code);
    (void)mandatory.read_u16(out.error_offset);
    out.error_code = static_cast<ErrorCode>(code);
  } else if (out.type == PacketType::TrafficIndication) {
    (void)mandatory.read_u16(out.traffic_code);
    (void)mandatory.read_u16(out.traffic_unused);
  } else {
    (void)mandatory.read_u32(out.request_id);
  }
  if (auto s = check_protocol_length(src_proto_length, "source protocol length", kOffsetSrcProtoLen, sizes.protocol);
      !s) {
    return s;
  }
  if (auto s = check_protocol_length(dst_proto_length, "destination protocol length", kOffsetDstProtoLen,
                                     sizes.protocol);
      !s) {
    return s;
  }

  // With extensions, addresses that run past ar$extoff mean the offset is wrong.
  const std::size_t addresses_end = kCommonHeaderEnd + (shtl & kTypeLengthMask) + (sstl & kTypeLengthMask) +
                                    src_proto_length + dst_proto_length;
  if (extoff != 0 && extoff < addresses_end) {
    return fail(error(DecodeErrc::BadExtensionOffset, "ar$extoff", kOffsetExtensionOffset, addresses_end, extoff));
  }
  const DecodeErrc address_error = DecodeErrc::Truncated;
  if (auto s = read_address(mandatory, shtl & kTypeLengthMask, 0, address_error, "source NBMA address", out.src_nbma);
      !s) {
    return s;
  }
  if (auto s = read_address(mandatory, sstl & kTypeLengthMask, 0, address_error, "source NBMA subaddress",
                            out.src_nbma_subaddress);
      !s) {
    return s;
  }
  if (auto s = read_address(mandatory, src_proto_length, 0, address_error, "source protocol address",
                            out.src_protocol);
      !s) {
    return s;
  }
  if (auto s = read_address(mandatory, dst_proto_length, 0, address_error, "destination protocol address",
                            out.dst_protocol);
      !s) {
    return s;
  }

  const std::size_t body_start = mandatory.offset();
  const std::span<const std::byte> body = packet.subspan(body_start, mandatory_end - body_start);
  out.payload.clear();
  out.cies.clear();
  if (has_common_header(out.type)) {
    if (auto s = read_cie_list(body, body_start, sizes, DecodeErrc::BadCie, out.cies); !s) return s;
  } else {
    // Error Indication: the offending packet; Traffic Indication: the data packet.
    out.payload.assign(body.begin(), body.end());
  }

  if (extoff == 0) {
    out.extensions.clear();
    out.trailer.clear();
    return {};
  }
  return read_extensions(packet, extoff, sizes, out);
}

Result<Packet, DecodeError> decode(std::span<const std::byte> data, DecodeOptions options) {
  Packet packet;
  if (auto s = decode_into(data, packet, options); !s) {
    return fail(s.error());
  }
  return packet;
}

}  // namespace advpnd::nhrp
