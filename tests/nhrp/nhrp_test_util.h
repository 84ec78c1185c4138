// Shared by the NHRP codec tests: the example packets of NHRP-WIRE.md 9 (and
// a few constructed ones, checksums computed independently of the codec),
// doctest printers for codec types, and byte helpers that do not use the
// code under test (the checksum here is a separate reference implementation).
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ip_address.h"
#include "nhrp/codec.h"
#include "nhrp/packet.h"
#include "nhrp/types.h"
#include "tests/support/test_data.h"

namespace advpnd::nhrp::testing {

template <class E>
doctest::String enum_text(E value) {
  std::string s(to_string(value));
  s += '(' + std::to_string(static_cast<unsigned>(value)) + ')';
  return s.c_str();
}

}  // namespace advpnd::nhrp::testing

namespace doctest {

template <>
struct StringMaker<advpnd::IpAddress> {
  static String convert(const advpnd::IpAddress& a) {
    if (a.empty()) return "<empty>";
    return a.to_string().c_str();
  }
};
template <>
struct StringMaker<advpnd::nhrp::PacketType> {
  static String convert(const advpnd::nhrp::PacketType& v) { return advpnd::nhrp::testing::enum_text(v); }
};
template <>
struct StringMaker<advpnd::nhrp::CieCode> {
  static String convert(const advpnd::nhrp::CieCode& v) { return advpnd::nhrp::testing::enum_text(v); }
};
template <>
struct StringMaker<advpnd::nhrp::ErrorCode> {
  static String convert(const advpnd::nhrp::ErrorCode& v) { return advpnd::nhrp::testing::enum_text(v); }
};
template <>
struct StringMaker<advpnd::nhrp::ExtensionType> {
  static String convert(const advpnd::nhrp::ExtensionType& v) { return advpnd::nhrp::testing::enum_text(v); }
};
template <>
struct StringMaker<advpnd::nhrp::DecodeErrc> {
  static String convert(const advpnd::nhrp::DecodeErrc& v) { return advpnd::nhrp::testing::enum_text(v); }
};

}  // namespace doctest

namespace advpnd::nhrp::testing {

using Bytes = std::vector<std::byte>;

// ---- NHRP-WIRE.md 9: example packets (NHRP bytes only) ----

inline constexpr std::string_view k91 =  // 9.1 FRR Registration Request
    "00 01 08 00 00 00 00 00 00 01 00 5c de 84 00 34"
    "01 03 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 ff 00 00 00 00 02 58"
    "00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 00"
    "00 09 00 14 00 20 00 00 00 00 00 00 04 00 04 00"
    "cb 00 71 01 0a 00 00 01 80 00 00 00";
inline constexpr std::string_view k91Auth =  // 9.1 with `ip nhrp authentication secret`
    "00 01 08 00 00 00 00 00 00 01 00 6a 22 18 00 34"
    "01 03 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 ff 00 00 00 00 02 58"
    "00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 00"
    "00 09 00 14 00 20 00 00 00 00 00 00 04 00 04 00"
    "cb 00 71 01 0a 00 00 01 80 07 00 0a 00 00 00 01"
    "73 65 63 72 65 74 80 00 00 00";
inline constexpr std::string_view k92 =  // 9.2 Cisco-style 9.1
    "00 01 08 00 00 00 00 00 00 ff 00 5c d3 75 00 34"
    "01 03 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 20 00 00 05 78 02 58"
    "00 00 00 00 80 03 00 00 80 04 00 00 80 05 00 00"
    "00 09 00 14 00 20 00 00 05 78 00 00 04 00 04 00"
    "cb 00 71 01 0a 00 00 01 80 00 00 00";
inline constexpr std::string_view k93 =  // 9.3 FRR NHS Registration Reply to 9.1
    "00 01 08 00 00 00 00 00 00 40 00 70 73 f9 00 34"
    "01 04 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 ff 00 00 00 00 02 58"
    "00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 14"
    "00 00 00 00 00 00 1c 20 04 00 04 00 cb 00 71 01"
    "0a 00 00 01 00 09 00 14 00 20 00 00 00 00 00 00"
    "04 00 04 00 cb 00 71 01 0a 00 00 01 80 00 00 00";
inline constexpr std::string_view k94 =  // 9.4 FRR Traffic Indication
    "00 01 08 00 00 00 00 00 00 01 00 44 dd f5 00 00"
    "01 08 04 00 04 04 00 00 00 00 00 00 cb 00 71 01"
    "0a 00 00 01 c0 a8 02 0a 45 00 00 54 12 34 40 00"
    "3f 01 a3 06 c0 a8 02 0a c0 a8 03 14 08 00 00 00"
    "00 01 00 01";
inline constexpr std::string_view k95 =  // 9.5 FRR Resolution Request
    "00 01 08 00 00 00 00 00 00 40 00 48 2a d6 00 34"
    "01 01 04 00 04 04 c8 02 00 00 00 02 c6 33 64 02"
    "0a 00 00 02 c0 a8 03 14 00 ff 00 00 00 00 02 58"
    "00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 00"
    "00 09 00 00 80 00 00 00";
inline constexpr std::string_view k96 =  // 9.6 real Cisco Registration Request
    "00 01 08 00 00 00 00 00 00 ff 00 6c 19 7b 00 34"
    "01 03 04 00 04 04 80 02 00 00 00 01 a9 fe 64 01"
    "9b 01 00 01 9b 01 00 05 00 20 00 00 45 f8 1c 20"
    "00 00 00 00 80 03 00 00 80 04 00 00 80 05 00 00"
    "80 07 00 0c 00 00 00 01 4e 48 52 50 41 55 54 48"
    "00 09 00 14 00 20 00 00 45 f8 00 00 04 00 04 00"
    "a9 fe 64 05 9b 01 00 05 80 00 00 00";
inline constexpr std::string_view kIos =  // 9.6 odd-length case: ios_nhrp.pcap, 81 bytes
    "00 01 08 00 00 00 00 00 00 ff 00 51 e8 e4 00 34"
    "01 03 04 00 04 04 80 00 00 00 00 05 0a 00 0c 02"
    "c0 a8 00 02 c0 a8 00 01 00 ff 00 00 05 ea 00 1e"
    "00 00 00 00 80 03 00 00 80 04 00 00 80 05 00 00"
    "80 07 00 09 00 00 00 01 43 49 53 43 4f 80 00 00"
    "00";
inline constexpr std::string_view k97 =  // 9.7 real Cisco Traffic Indication (nhrp-trace.pcap pkt 1)
    "00 01 08 00 00 00 00 00 00 ff 00 62 d9 d0 00 44"
    "01 08 04 00 04 04 00 00 00 00 00 00 c0 a8 c8 01"
    "0a ff ff 01 0a ff ff 03 45 00 00 64 00 05 00 00"
    "ff 01 a7 8f 0a ff ff 03 0a ff ff 02 08 00 32 5b"
    "00 01 00 00 80 04 00 00 80 05 00 00 80 07 00 0a"
    "00 00 00 01 73 65 63 72 65 74 00 09 00 00 80 00"
    "00 00";

// ---- Constructed packets (not in the spec; checksums computed with RFC 1071) ----

// Error Indication, Hop Count Exceeded (15) at offset 9, quoting the first
// 40 bytes of 9.5; no extensions.
inline constexpr std::string_view kErrorIndication =
    "00 01 08 00 00 00 00 00 00 ff 00 50 a0 f5 00 00"
    "01 07 04 00 04 04 00 00 00 0f 00 09 cb 00 71 01"
    "0a 00 00 01 0a 00 00 02 00 01 08 00 00 00 00 00"
    "00 40 00 48 2a d6 00 34 01 01 04 00 04 04 c8 02"
    "00 00 00 02 c6 33 64 02 0a 00 00 02 c0 a8 03 14";
// Resolution Request over an IPv6 overlay on IPv4 NBMA (pro.type 0x86DD,
// proto len 16): 2001:db8::2 resolving 2001:db8:1::20, ID 7; Responder, End.
inline constexpr std::string_view kIpv6Overlay =
    "00 01 86 dd 00 00 00 00 00 40 00 54 12 00 00 4c"
    "01 01 04 00 10 10 c8 02 00 00 00 07 c6 33 64 02"
    "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
    "20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 20"
    "00 ff 00 00 00 00 02 58 00 00 00 00 80 03 00 00"
    "80 00 00 00";
// Registration Request with IPv6 NBMA (afn 2, shtl 16) and IPv6 overlay, a
// CIE with both addresses (pl 128, MTU 1400, hold 7200), no extensions.
inline constexpr std::string_view kIpv6Full =
    "00 02 86 dd 00 00 00 00 00 ff 00 78 3d f7 00 00"
    "01 03 10 00 10 10 80 02 01 02 03 04 20 01 0d b8"
    "ff ff 00 00 00 00 00 00 00 00 00 02 fd 00 00 00"
    "00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00"
    "00 00 00 00 00 00 00 00 00 00 00 01 00 80 00 00"
    "05 78 1c 20 10 00 10 00 20 01 0d b8 ff ff 00 00"
    "00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 00"
    "00 00 00 00 00 00 00 02";
// 9.5 with 4 bytes after End inside ar$pktsz (OpenNHRP-style trailer).
inline constexpr std::string_view kTrailer =
    "00 01 08 00 00 00 00 00 00 40 00 4c 8d 34 00 34"
    "01 01 04 00 04 04 c8 02 00 00 00 02 c6 33 64 02"
    "0a 00 00 02 c0 a8 03 14 00 ff 00 00 00 00 02 58"
    "00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 00"
    "00 09 00 00 80 00 00 00 de ad be ef";
// 9.5 with the NAT extension replaced by an unknown compulsory type 0x8033,
// value ab cd.
inline constexpr std::string_view kUnknownExtension =
    "00 01 08 00 00 00 00 00 00 40 00 4a fe d9 00 34"
    "01 01 04 00 04 04 c8 02 00 00 00 02 c6 33 64 02"
    "0a 00 00 02 c0 a8 03 14 00 ff 00 00 00 00 02 58"
    "00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 00"
    "80 33 00 02 ab cd 80 00 00 00";
// 9.4 with one more payload byte (0xab): 69 bytes, odd, last byte nonzero.
// Checksum 0x32F4 with end padding (0xDD49 if the odd byte were the low byte).
inline constexpr std::string_view kTrafficOdd =
    "00 01 08 00 00 00 00 00 00 01 00 45 32 f4 00 00"
    "01 08 04 00 04 04 00 00 00 00 00 00 cb 00 71 01"
    "0a 00 00 01 c0 a8 02 0a 45 00 00 54 12 34 40 00"
    "3f 01 a3 06 c0 a8 02 0a c0 a8 03 14 08 00 00 00"
    "00 01 00 01 ab";

struct Vector {
  std::string_view name;
  std::string_view hex;
};

inline std::vector<Vector> golden_vectors() {
  return {{"9.1", k91}, {"9.1+auth", k91Auth}, {"9.2", k92},  {"9.3", k93}, {"9.4", k94},
          {"9.5", k95}, {"9.6", k96},          {"ios_nhrp", kIos}, {"9.7", k97}};
}
inline std::vector<Vector> constructed_vectors() {
  return {{"error-indication", kErrorIndication}, {"ipv6-overlay", kIpv6Overlay},
          {"ipv6-full", kIpv6Full},               {"trailer", kTrailer},
          {"unknown-extension", kUnknownExtension}, {"traffic-odd", kTrafficOdd}};
}
inline std::vector<Vector> all_vectors() {
  auto all = golden_vectors();
  for (const auto& v : constructed_vectors()) all.push_back(v);
  return all;
}

// ---- Byte helpers (independent of the codec) ----

inline Bytes bytes(std::string_view hex_text) { return advpnd::test::hex(hex_text); }
inline std::string hex_of(std::span<const std::byte> b) { return advpnd::test::to_hex(Bytes(b.begin(), b.end())); }

inline std::uint16_t get_u16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b.at(at)) << 8) | std::to_integer<unsigned>(b.at(at + 1)));
}
inline void put_u16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = std::byte{static_cast<std::uint8_t>(v >> 8)};
  b.at(at + 1) = std::byte{static_cast<std::uint8_t>(v)};
}
inline void put_u8(Bytes& b, std::size_t at, std::uint8_t v) { b.at(at) = std::byte{v}; }
inline std::uint8_t get_u8(const Bytes& b, std::size_t at) { return std::to_integer<std::uint8_t>(b.at(at)); }

// RFC 1071, written out plainly: 64-bit sum of big-endian words, odd byte as
// the high byte of a zero-padded last word, carries folded, complemented.
inline std::uint16_t reference_checksum(std::span<const std::byte> data) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const std::uint64_t hi = std::to_integer<std::uint64_t>(data[i]);
    const std::uint64_t lo = i + 1 < data.size() ? std::to_integer<std::uint64_t>(data[i + 1]) : 0;
    sum += (hi << 8) | lo;
  }
  while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

// Recomputes ar$chksum over min(ar$pktsz, size) bytes.
inline void reseal(Bytes& b) {
  if (b.size() < 14) return;
  std::size_t n = get_u16(b, 10);
  if (n > b.size()) n = b.size();
  put_u16(b, 12, 0);
  put_u16(b, 12, reference_checksum(std::span<const std::byte>(b).first(n)));
}
// Sets ar$pktsz to the buffer size, then reseals.
inline void resize_and_reseal(Bytes& b) {
  if (b.size() >= 12) put_u16(b, 10, static_cast<std::uint16_t>(b.size()));
  reseal(b);
}
// An exactly sized heap copy, so that AddressSanitizer sees any read past n.
inline Bytes prefix(const Bytes& b, std::size_t n) { return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)); }

inline IpAddress ip(std::string_view text) {
  const auto a = IpAddress::parse(text);
  if (!a) {
    std::fprintf(stderr, "bad address literal %.*s\n", static_cast<int>(text.size()), text.data());
    std::abort();
  }
  return *a;
}
inline std::string text_of(std::span<const std::byte> b) {
  std::string s;
  for (const auto c : b) s += static_cast<char>(std::to_integer<unsigned char>(c));
  return s;
}

// Packet equality except the checksum read from the wire.
inline bool same_packet(const Packet& a, Packet b) {
  b.received_checksum = a.received_checksum;
  return a == b;
}

inline std::size_t cie_wire_size(const Cie& c) {
  return kCieHeaderSize + c.nbma.size() + c.nbma_subaddress.size() + c.protocol.size();
}
// The extension's ar length field as it would be on the wire.
inline std::size_t extension_wire_length(const Extension& e) {
  if (e.cies.empty()) return e.value.size();
  std::size_t n = 0;
  for (const auto& c : e.cies) n += cie_wire_size(c);
  return n;
}

inline DecodeOptions no_checksum() {
  DecodeOptions o;
  o.verify_checksum = false;
  return o;
}

// Decodes a vector that must decode; aborts the test case otherwise.
inline Packet decode_ok(const Bytes& data, DecodeOptions options = {}) {
  auto r = decode(data, options);
  if (!r.ok()) {
    INFO("decode error: ", r.error().message());
    INFO(hex_of(data));
    REQUIRE(r.ok());
  }
  return std::move(r).value();
}
inline Packet decode_ok(std::string_view hex_text) { return decode_ok(bytes(hex_text)); }

// True when `msg` shows `n` in decimal or (checksums) in hex.
inline bool mentions_number(const std::string& msg, std::size_t n) {
  if (msg.find(std::to_string(n)) != std::string::npos) return true;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%zx", n);
  if (msg.find(buf) != std::string::npos) return true;
  std::snprintf(buf, sizeof buf, "%04zx", n);
  return msg.find(buf) != std::string::npos;
}

// Errors about a size, an offset or a length: the message must show both
// what was needed and what there was. For the others (version, type,
// family, type/length bits) the value found is enough.
inline bool is_size_error(DecodeErrc code) {
  return code != DecodeErrc::UnsupportedVersion && code != DecodeErrc::UnknownPacketType &&
         code != DecodeErrc::UnsupportedAddressFamily && code != DecodeErrc::BadTypeLength;
}

// The checks every refusal must pass: a named field, an offset inside the
// buffer, a message that names the field, its offset and the numbers.
inline void check_error_sane(const DecodeError& e, std::size_t data_size) {
  INFO("error: ", e.message(), " (", to_string(e.code), "; needed ", e.needed, ", available ", e.available, ")");
  CHECK_FALSE(e.field.empty());
  CHECK(e.offset <= data_size);
  const std::string msg = e.message();
  CHECK(msg.find(e.field) != std::string::npos);
  CHECK(msg.find(std::to_string(e.offset)) != std::string::npos);
  if (e.needed != 0 && is_size_error(e.code)) CHECK(mentions_number(msg, e.needed));
  if (e.available != 0) CHECK(mentions_number(msg, e.available));
}

// Decodes data that must be refused; returns the error (nullopt, with a
// failed check, when it decoded).
inline std::optional<DecodeError> refused(const Bytes& data, DecodeOptions options = no_checksum()) {
  auto r = decode(data, options);
  if (r.ok()) {
    INFO("unexpectedly decoded: ", hex_of(data));
    CHECK_FALSE(r.ok());
    return std::nullopt;
  }
  check_error_sane(r.error(), data.size());
  return r.error();
}

// Offsets of each extension header in a well-formed vector (walks the TLVs
// from ar$extoff to ar$pktsz without the codec); the last entry is the end.
inline std::vector<std::size_t> extension_boundaries(const Bytes& b) {
  std::vector<std::size_t> out;
  const std::size_t extoff = get_u16(b, 14);
  const std::size_t pktsz = get_u16(b, 10);
  if (extoff == 0) return out;
  std::size_t at = extoff;
  out.push_back(at);
  while (at + 4 <= pktsz) {
    const std::uint16_t type = get_u16(b, at) & kExtensionTypeMask;
    at += 4 + get_u16(b, at + 2);
    out.push_back(at);
    if (type == 0) break;
  }
  return out;
}

}  // namespace advpnd::nhrp::testing

namespace doctest {
template <>
struct StringMaker<advpnd::nhrp::Packet> {
  static String convert(const advpnd::nhrp::Packet& p) {
    std::string s = "Packet{type " + std::to_string(static_cast<unsigned>(p.type)) + ", hop " +
                    std::to_string(p.hop_count) + ", flags " + std::to_string(p.flags) + ", id " +
                    std::to_string(p.request_id) + ", " + std::to_string(p.cies.size()) + " CIEs, " +
                    std::to_string(p.extensions.size()) + " extensions, payload " +
                    std::to_string(p.payload.size()) + ", trailer " + std::to_string(p.trailer.size()) + "}";
    return s.c_str();
  }
};
}  // namespace doctest
