#include "nhrp/types.h"

namespace advpnd::nhrp {

std::string_view to_string(PacketType type) {
  switch (type) {
    case PacketType::ResolutionRequest: return "resolution-request";
    case PacketType::ResolutionReply: return "resolution-reply";
    case PacketType::RegistrationRequest: return "registration-request";
    case PacketType::RegistrationReply: return "registration-reply";
    case PacketType::PurgeRequest: return "purge-request";
    case PacketType::PurgeReply: return "purge-reply";
    case PacketType::ErrorIndication: return "error-indication";
    case PacketType::TrafficIndication: return "traffic-indication";
  }
  return "unknown";
}

std::string_view to_string(CieCode code) {
  switch (code) {
    case CieCode::Success: return "success";
    case CieCode::AdministrativelyProhibited: return "administratively-prohibited";
    case CieCode::InsufficientResources: return "insufficient-resources";
    case CieCode::NoBindingFrrValue:
    case CieCode::NoBindingExists: return "no-binding-exists";
    case CieCode::BindingNotUnique: return "binding-not-unique";
    case CieCode::UniqueAddressRegistered: return "unique-address-already-registered";
  }
  return "unknown";
}

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::None: return "none";
    case ErrorCode::UnrecognizedExtension: return "unrecognized-extension";
    case ErrorCode::LoopDetected: return "loop-detected";
    case ErrorCode::ProtocolAddressUnreachable: return "protocol-address-unreachable";
    case ErrorCode::ProtocolError: return "protocol-error";
    case ErrorCode::SduSizeExceeded: return "sdu-size-exceeded";
    case ErrorCode::InvalidExtension: return "invalid-extension";
    case ErrorCode::InvalidResolutionReply: return "invalid-resolution-reply";
    case ErrorCode::AuthenticationFailure: return "authentication-failure";
    case ErrorCode::HopCountExceeded: return "hop-count-exceeded";
    case ErrorCode::VpnMismatch: return "vpn-mismatch";
    case ErrorCode::VpnUnsupported: return "vpn-unsupported";
  }
  return "unknown";
}

std::string_view to_string(ExtensionType type) {
  switch (type) {
    case ExtensionType::End: return "end";
    case ExtensionType::ResponderAddress: return "responder-address";
    case ExtensionType::ForwardTransit: return "forward-transit-nhs-record";
    case ExtensionType::ReverseTransit: return "reverse-transit-nhs-record";
    case ExtensionType::Authentication: return "authentication";
    case ExtensionType::VendorPrivate: return "vendor-private";
    case ExtensionType::CiscoNatAddress: return "cisco-nat-address";
  }
  return "unknown";
}

}  // namespace advpnd::nhrp
