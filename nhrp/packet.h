// The decoded form of one NHRP packet. It keeps every field that is on the
// wire (unused fields, raw codes, extension order and compulsory bits, bytes
// after the End extension), so that encode(decode(bytes)) == bytes for every
// well-formed packet. Lengths, ar$extoff and the checksum are derived on encode.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/ip_address.h"
#include "nhrp/types.h"

namespace advpnd::nhrp {

// Client Information Entry (RFC 2332 5.2.0.2). An empty address means length
// 0 on the wire ("same as the header's source", in requests).
struct Cie {
  CieCode code = CieCode::Success;
  std::uint8_t prefix_length = 0;  // 0 and 0xFF both mean "host" (RFC 2332 5.2.1)
  std::uint16_t reserved = 0;      // "unused", kept for byte-exact round trips
  std::uint16_t mtu = 0;
  std::uint16_t holding_time = 0;  // seconds
  std::uint8_t preference = 0;
  IpAddress nbma;
  IpAddress nbma_subaddress;
  IpAddress protocol;

  friend bool operator==(const Cie&, const Cie&) = default;
};

struct Extension {
  std::uint16_t raw_type = 0;  // as on the wire, compulsory bit included
  // For Responder Address, Forward/Reverse Transit and Cisco NAT: the CIEs.
  std::vector<Cie> cies;
  // For every other type (and a NAT extension whose value is not a CIE
  // list, such as RFC 2735 Device Capabilities): the value bytes. At most
  // one of `cies` and `value` is non-empty; encode() refuses both.
  std::vector<std::byte> value;

  [[nodiscard]] ExtensionType type() const {
    return static_cast<ExtensionType>(raw_type & kExtensionTypeMask);
  }
  [[nodiscard]] bool compulsory() const { return (raw_type & kExtensionCompulsory) != 0; }
  friend bool operator==(const Extension&, const Extension&) = default;
};

// Extensions whose value is a list of CIEs (RFC 2332 5.3.1-5.3.3; Cisco NAT 9).
[[nodiscard]] constexpr bool carries_cies(ExtensionType type) {
  return type == ExtensionType::ResponderAddress || type == ExtensionType::ForwardTransit ||
         type == ExtensionType::ReverseTransit || type == ExtensionType::CiscoNatAddress;
}

struct Packet {
  // Fixed header (RFC 2332 5.2.0.1).
  std::uint16_t afn = kAfnIpv4;
  std::uint16_t protocol_type = kProtocolIpv4;
  std::array<std::uint8_t, 5> protocol_snap{};
  std::uint8_t hop_count = 255;
  std::uint8_t version = kVersion;
  PacketType type = PacketType::ResolutionRequest;
  // The checksum read from the wire; encode() always computes a fresh one.
  std::uint16_t received_checksum = 0;

  // Mandatory part. Bytes 22-27 mean different things by type:
  //  types 1-6: flags, request_id;
  //  Error Indication (7): unused (`flags`), error_code, error_offset;
  //  Traffic Indication (8): unused (`flags`), traffic_code, traffic_unused.
  std::uint16_t flags = 0;
  std::uint32_t request_id = 0;
  ErrorCode error_code = ErrorCode::None;
  std::uint16_t error_offset = 0;
  std::uint16_t traffic_code = kTrafficCodeRedirect;
  std::uint16_t traffic_unused = 0;

  IpAddress src_nbma;
  IpAddress src_nbma_subaddress;
  IpAddress src_protocol;
  IpAddress dst_protocol;

  std::vector<Cie> cies;           // types 1-6
  std::vector<std::byte> payload;  // 7: the offending packet; 8: the inner data packet
  std::vector<Extension> extensions;  // in wire order, End included when present
  std::vector<std::byte> trailer;  // bytes after End inside ar$pktsz (OpenNHRP pads Error Indications)

  [[nodiscard]] const Extension* find_extension(ExtensionType type) const;
  [[nodiscard]] Extension* find_extension(ExtensionType type);

  friend bool operator==(const Packet& a, const Packet& b);
};

}  // namespace advpnd::nhrp
