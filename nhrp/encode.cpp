// NHRP encoder (RFC 2332 5.2, 5.3). Writes exactly what the Packet holds,
// in order; derives ar$pktsz, ar$extoff, the type/length bytes and the
// checksum. It refuses what decode() would refuse, so that anything it
// writes decodes back to the same Packet.
#include "base/byte_io.h"
#include "nhrp/codec.h"

namespace advpnd::nhrp {
namespace {

constexpr std::size_t kOffsetPacketSize = 10;
constexpr std::size_t kOffsetChecksum = 12;
constexpr std::size_t kOffsetExtensionOffset = 14;
constexpr std::size_t kMaxPacketSize = 0xFFFF;

std::size_t cie_size(const Cie& cie) {
  return kCieHeaderSize + cie.nbma.size() + cie.nbma_subaddress.size() + cie.protocol.size();
}

std::size_t cies_size(const std::vector<Cie>& cies) {
  std::size_t size = 0;
  for (const Cie& cie : cies) size += cie_size(cie);
  return size;
}

std::size_t extension_value_size(const Extension& ext) {
  return ext.cies.empty() ? ext.value.size() : cies_size(ext.cies);
}

std::size_t mandatory_size(const Packet& p) {
  std::size_t size = kFixedHeaderSize + kCommonHeaderSize + p.src_nbma.size() + p.src_nbma_subaddress.size() +
                     p.src_protocol.size() + p.dst_protocol.size();
  size += has_common_header(p.type) ? cies_size(p.cies) : p.payload.size();
  return size;
}

struct Sizes {
  std::size_t nbma = 0;
  std::size_t protocol = 0;
};

bool fits(const IpAddress& addr, std::size_t family_size, bool may_be_empty) {
  return addr.size() == family_size || (may_be_empty && addr.empty());
}

Status<EncodeError> validate_cie(const Cie& cie, const Sizes& sizes) {
  if (!fits(cie.nbma, sizes.nbma, true) || !fits(cie.nbma_subaddress, sizes.nbma, true) ||
      !fits(cie.protocol, sizes.protocol, true)) {
    return fail(EncodeError{EncodeErrc::BadAddressLength, "CIE address"});
  }
  return {};
}

Status<EncodeError> validate(const Packet& p, Sizes& sizes) {
  if (p.afn == kAfnIpv4) {
    sizes.nbma = IpAddress::kIpv4Size;
  } else if (p.afn == kAfnIpv6) {
    sizes.nbma = IpAddress::kIpv6Size;
  } else {
    return fail(EncodeError{EncodeErrc::UnsupportedFamily, "ar$afn"});
  }
  if (p.protocol_type == kProtocolIpv4) {
    sizes.protocol = IpAddress::kIpv4Size;
  } else if (p.protocol_type == kProtocolIpv6) {
    sizes.protocol = IpAddress::kIpv6Size;
  } else {
    return fail(EncodeError{EncodeErrc::UnsupportedFamily, "ar$pro.type"});
  }
  if (!fits(p.src_nbma, sizes.nbma, false)) return fail(EncodeError{EncodeErrc::BadAddressLength, "source NBMA address"});
  if (!fits(p.src_nbma_subaddress, sizes.nbma, true)) {
    return fail(EncodeError{EncodeErrc::BadAddressLength, "source NBMA subaddress"});
  }
  if (!fits(p.src_protocol, sizes.protocol, true)) {
    return fail(EncodeError{EncodeErrc::BadAddressLength, "source protocol address"});
  }
  if (!fits(p.dst_protocol, sizes.protocol, true)) {
    return fail(EncodeError{EncodeErrc::BadAddressLength, "destination protocol address"});
  }
  if (has_common_header(p.type)) {
    for (const Cie& cie : p.cies) {
      if (auto s = validate_cie(cie, sizes); !s) return s;
    }
  }
  for (const Extension& ext : p.extensions) {
    if (!ext.cies.empty() && !ext.value.empty()) {
      return fail(EncodeError{EncodeErrc::AmbiguousExtension, to_string(ext.type())});
    }
    for (const Cie& cie : ext.cies) {
      if (auto s = validate_cie(cie, sizes); !s) return s;
    }
    if (extension_value_size(ext) > kMaxPacketSize) {
      return fail(EncodeError{EncodeErrc::PacketTooLarge, to_string(ext.type())});
    }
  }
  return {};
}

void write_cie(ByteWriter& w, const Cie& cie) {
  w.u8(static_cast<std::uint8_t>(cie.code));
  w.u8(cie.prefix_length);
  w.u16(cie.reserved);
  w.u16(cie.mtu);
  w.u16(cie.holding_time);
  w.u8(static_cast<std::uint8_t>(cie.nbma.size()));
  w.u8(static_cast<std::uint8_t>(cie.nbma_subaddress.size()));
  w.u8(static_cast<std::uint8_t>(cie.protocol.size()));
  w.u8(cie.preference);
  w.bytes(cie.nbma.bytes());
  w.bytes(cie.nbma_subaddress.bytes());
  w.bytes(cie.protocol.bytes());
}

}  // namespace

std::size_t encoded_size(const Packet& packet) {
  std::size_t size = mandatory_size(packet);
  for (const Extension& ext : packet.extensions) {
    size += kExtensionHeaderSize + extension_value_size(ext);
  }
  return size + (packet.extensions.empty() ? 0 : packet.trailer.size());
}

Result<std::size_t, EncodeError> encode(const Packet& p, std::span<std::byte> out) {
  Sizes sizes;
  if (auto s = validate(p, sizes); !s) return fail(s.error());
  const std::size_t total = encoded_size(p);
  if (total > kMaxPacketSize) return fail(EncodeError{EncodeErrc::PacketTooLarge, "ar$pktsz"});
  if (total > out.size()) return fail(EncodeError{EncodeErrc::BufferTooSmall, "ar$pktsz"});

  ByteWriter w(out.first(total));
  // Fixed header (RFC 2332 5.2.0.1); pktsz, checksum and extoff patched below.
  w.u16(p.afn);
  w.u16(p.protocol_type);
  for (std::uint8_t b : p.protocol_snap) w.u8(b);
  w.u8(p.hop_count);
  w.u16(0);  // ar$pktsz
  w.u16(0);  // ar$chksum
  w.u16(0);  // ar$extoff
  w.u8(p.version);
  w.u8(static_cast<std::uint8_t>(p.type));
  w.u8(static_cast<std::uint8_t>(p.src_nbma.size()));
  w.u8(static_cast<std::uint8_t>(p.src_nbma_subaddress.size()));

  // Mandatory part: bytes 22-27 by type (RFC 2332 5.2.7; draft-detienne-dmvpn fig. 4).
  w.u8(static_cast<std::uint8_t>(p.src_protocol.size()));
  w.u8(static_cast<std::uint8_t>(p.dst_protocol.size()));
  w.u16(p.flags);
  if (p.type == PacketType::ErrorIndication) {
    w.u16(static_cast<std::uint16_t>(p.error_code));
    w.u16(p.error_offset);
  } else if (p.type == PacketType::TrafficIndication) {
    w.u16(p.traffic_code);
    w.u16(p.traffic_unused);
  } else {
    w.u32(p.request_id);
  }
  w.bytes(p.src_nbma.bytes());
  w.bytes(p.src_nbma_subaddress.bytes());
  w.bytes(p.src_protocol.bytes());
  w.bytes(p.dst_protocol.bytes());
  if (has_common_header(p.type)) {
    for (const Cie& cie : p.cies) write_cie(w, cie);
  } else {
    w.bytes(p.payload);
  }

  if (!p.extensions.empty()) {
    w.patch_u16(kOffsetExtensionOffset, static_cast<std::uint16_t>(w.offset()));
    for (const Extension& ext : p.extensions) {
      w.u16(ext.raw_type);
      w.u16(static_cast<std::uint16_t>(extension_value_size(ext)));
      if (ext.cies.empty()) {
        w.bytes(ext.value);
      } else {
        for (const Cie& cie : ext.cies) write_cie(w, cie);
      }
    }
    w.bytes(p.trailer);
  }
  w.patch_u16(kOffsetPacketSize, static_cast<std::uint16_t>(total));
  if (!w.ok() || w.offset() != total) return fail(EncodeError{EncodeErrc::BufferTooSmall, "internal size"});
  w.patch_u16(kOffsetChecksum, internet_checksum(w.written()));
  return total;
}

Result<std::vector<std::byte>, EncodeError> encode(const Packet& packet) {
  std::vector<std::byte> out(encoded_size(packet));
  auto written = encode(packet, out);
  if (!written) return fail(written.error());
  return out;
}

}  // namespace advpnd::nhrp
