// Wire constants of NHRP (RFC 2332) as Cisco DMVPN and FRR nhrpd use it.
// Enums hold raw wire values; a value the RFC does not name is still
// representable, so decoding never loses what was on the wire.
#pragma once

#include <cstdint>
#include <string_view>

namespace advpnd::nhrp {

// RFC 2332 5.2.0.1 ar$op.type; 8 is the Traffic Indication of
// draft-detienne-dmvpn (Cisco "NHRP redirect"), not IANA-assigned.
enum class PacketType : std::uint8_t {
  ResolutionRequest = 1,
  ResolutionReply = 2,
  RegistrationRequest = 3,
  RegistrationReply = 4,
  PurgeRequest = 5,
  PurgeReply = 6,
  ErrorIndication = 7,
  TrafficIndication = 8,
};
inline constexpr std::uint8_t kMinPacketType = 1;
inline constexpr std::uint8_t kMaxPacketType = 8;

// RFC 2332 5.2.0.1: ar$afn, IANA address family numbers.
inline constexpr std::uint16_t kAfnIpv4 = 1;
inline constexpr std::uint16_t kAfnIpv6 = 2;
// ar$pro.type, EtherType short form.
inline constexpr std::uint16_t kProtocolIpv4 = 0x0800;
inline constexpr std::uint16_t kProtocolIpv6 = 0x86DD;
inline constexpr std::uint8_t kVersion = 1;
// GRE protocol type carrying NHRP (NHRP-WIRE.md 1.1).
inline constexpr std::uint16_t kGreProtocolNhrp = 0x2001;
inline constexpr std::uint16_t kGreProtocolIpv4 = 0x0800;
inline constexpr std::uint16_t kGreProtocolIpv6 = 0x86DD;

inline constexpr std::size_t kFixedHeaderSize = 20;
inline constexpr std::size_t kCommonHeaderSize = 8;  // src/dst proto len, flags, request id
inline constexpr std::size_t kCieHeaderSize = 12;
inline constexpr std::size_t kExtensionHeaderSize = 4;

// Flags of the common mandatory header (RFC 2332 5.2.1, 5.2.3, 5.2.5), plus
// the Cisco "NAT supported" bit 0x0002 (NHRP-WIRE.md 3.1).
namespace flags {
inline constexpr std::uint16_t kResolutionQ = 0x8000;  // requester is a router
inline constexpr std::uint16_t kResolutionA = 0x4000;  // authoritative
inline constexpr std::uint16_t kResolutionD = 0x2000;  // destination stable
inline constexpr std::uint16_t kResolutionU = 0x1000;  // unique
inline constexpr std::uint16_t kResolutionS = 0x0800;  // source stable
inline constexpr std::uint16_t kRegistrationU = 0x8000;  // unique registration
inline constexpr std::uint16_t kPurgeN = 0x8000;         // no reply expected
inline constexpr std::uint16_t kCiscoNat = 0x0002;
}  // namespace flags

// CIE codes (RFC 2332 5.2.2, 5.2.4). Raw value kept; FRR and OpenNHRP call
// "no binding" 11, the RFC 12: accept both (is_no_binding), emit 12.
enum class CieCode : std::uint8_t {
  Success = 0,
  AdministrativelyProhibited = 4,
  InsufficientResources = 5,
  NoBindingFrrValue = 11,
  NoBindingExists = 12,
  BindingNotUnique = 13,
  UniqueAddressRegistered = 14,
};
[[nodiscard]] constexpr bool is_no_binding(CieCode code) {
  return code == CieCode::NoBindingExists || code == CieCode::NoBindingFrrValue;
}

// Error Indication codes (RFC 2332 5.2.7); 16, 17 from RFC 2735. FRR uses 2
// for a loop; emit the RFC's 3.
enum class ErrorCode : std::uint16_t {
  None = 0,
  UnrecognizedExtension = 1,
  LoopDetected = 3,
  ProtocolAddressUnreachable = 6,
  ProtocolError = 7,
  SduSizeExceeded = 8,
  InvalidExtension = 9,
  InvalidResolutionReply = 10,
  AuthenticationFailure = 11,
  HopCountExceeded = 15,
  VpnMismatch = 16,
  VpnUnsupported = 17,
};

// Extension types (RFC 2332 5.3), without the compulsory bit.
enum class ExtensionType : std::uint16_t {
  End = 0,
  ResponderAddress = 3,
  ForwardTransit = 4,
  ReverseTransit = 5,
  Authentication = 7,
  VendorPrivate = 8,
  CiscoNatAddress = 9,
};
inline constexpr std::uint16_t kExtensionCompulsory = 0x8000;
inline constexpr std::uint16_t kExtensionTypeMask = 0x3FFF;

// Traffic Indication traffic code (draft-detienne-dmvpn figure 4).
inline constexpr std::uint16_t kTrafficCodeRedirect = 0;

[[nodiscard]] std::string_view to_string(PacketType type);
[[nodiscard]] std::string_view to_string(CieCode code);
[[nodiscard]] std::string_view to_string(ErrorCode code);
[[nodiscard]] std::string_view to_string(ExtensionType type);

[[nodiscard]] constexpr bool is_request(PacketType type) {
  return type == PacketType::ResolutionRequest || type == PacketType::RegistrationRequest ||
         type == PacketType::PurgeRequest;
}
[[nodiscard]] constexpr bool is_reply(PacketType type) {
  return type == PacketType::ResolutionReply || type == PacketType::RegistrationReply ||
         type == PacketType::PurgeReply;
}
// Types 1-6 share the common mandatory header and carry CIEs (RFC 2332 5.2).
[[nodiscard]] constexpr bool has_common_header(PacketType type) {
  return static_cast<std::uint8_t>(type) >= 1 && static_cast<std::uint8_t>(type) <= 6;
}

}  // namespace advpnd::nhrp
