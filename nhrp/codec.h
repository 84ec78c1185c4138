// Decoding and encoding of NHRP packets (RFC 2332 5.2, 5.3), pure: no I/O.
//
// decode() validates every length and offset before it reads (header fits,
// declared lengths within the bytes received, offsets past the fields they
// follow). A refused packet yields a DecodeError naming the field, the byte
// offset, and the Error Indication code the RFC prescribes, if any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "nhrp/packet.h"

namespace advpnd::nhrp {

enum class DecodeErrc : std::uint8_t {
  Truncated,                // a field runs past the bytes available
  PacketSizeTooSmall,       // ar$pktsz smaller than the fixed header
  PacketSizeExceedsData,    // ar$pktsz larger than the bytes received
  UnsupportedVersion,       // ar$op.version != 1
  UnknownPacketType,        // ar$op.type outside 1..8
  UnsupportedAddressFamily, // ar$afn / ar$pro.type not IPv4 or IPv6
  BadAddressLength,         // a length that does not fit the family
  BadTypeLength,            // reserved or E.164 bit set in a type/length byte
  BadExtensionOffset,       // ar$extoff inside the mandatory header or past ar$pktsz
  BadCie,                   // CIE does not fit its part of the packet
  BadExtension,             // extension header/value does not fit, or End with a length
  ChecksumMismatch,         // only when DecodeOptions::verify_checksum
};

struct DecodeError {
  DecodeErrc code = DecodeErrc::Truncated;
  std::string_view field;  // static text naming the field, e.g. "ar$extoff"
  std::size_t offset = 0;  // byte offset of that field from the first NHRP byte
  std::size_t needed = 0;  // bytes (or value) the field needed ...
  std::size_t available = 0;  // ... and what there was

  // The RFC 2332 5.2.7 Error Indication code to send for this error, or
  // ErrorCode::None when the RFC says to drop silently (bad checksum, a
  // packet too short to reply to).
  [[nodiscard]] ErrorCode indication() const;
  // "ar$extoff at offset 14: 12 is inside the mandatory part (needs >= 40)".
  [[nodiscard]] std::string message() const;
};

[[nodiscard]] std::string_view to_string(DecodeErrc code);

struct DecodeOptions {
  // Refuse a packet whose checksum does not verify. The daemons verify;
  // the decode tool reports instead.
  bool verify_checksum = true;
};

// Decodes the NHRP packet at the start of `data` (the byte after the GRE
// header). Bytes past ar$pktsz are ignored.
[[nodiscard]] Result<Packet, DecodeError> decode(std::span<const std::byte> data,
                                                 DecodeOptions options = {});
// Same, into `out`, reusing the capacity of its vectors (the hot path).
[[nodiscard]] Status<DecodeError> decode_into(std::span<const std::byte> data, Packet& out,
                                              DecodeOptions options = {});

// RFC 1071 Internet checksum over `data`; an odd final byte is the high byte
// of a last word padded with zero (NHRP-WIRE.md 2).
[[nodiscard]] std::uint16_t internet_checksum(std::span<const std::byte> data);
// True when the ar$pktsz bytes of `data` sum to 0xFFFF (checksum included).
[[nodiscard]] bool checksum_valid(std::span<const std::byte> data);

enum class EncodeErrc : std::uint8_t {
  BufferTooSmall,
  PacketTooLarge,      // more than 65535 bytes
  BadAddressLength,    // an address of the wrong family for ar$afn / ar$pro.type
  UnsupportedFamily,   // ar$afn / ar$pro.type that decode() would refuse
  AmbiguousExtension,  // an extension with both CIEs and a raw value
};
struct EncodeError {
  EncodeErrc code = EncodeErrc::BufferTooSmall;
  std::string_view field;
  [[nodiscard]] std::string message() const;
};

// The exact number of bytes encode() writes for `packet`.
[[nodiscard]] std::size_t encoded_size(const Packet& packet);
// Writes the packet, computing ar$pktsz, ar$extoff and ar$chksum. Returns
// the number of bytes written.
[[nodiscard]] Result<std::size_t, EncodeError> encode(const Packet& packet, std::span<std::byte> out);
[[nodiscard]] Result<std::vector<std::byte>, EncodeError> encode(const Packet& packet);

}  // namespace advpnd::nhrp
