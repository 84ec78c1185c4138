#include <cstdio>
#include <string>

#include "base/field_error.h"
#include "nhrp/codec.h"

namespace advpnd::nhrp {

std::string_view to_string(DecodeErrc code) {
  switch (code) {
    case DecodeErrc::Truncated: return "truncated";
    case DecodeErrc::PacketSizeTooSmall: return "packet size too small";
    case DecodeErrc::PacketSizeExceedsData: return "packet size exceeds data";
    case DecodeErrc::UnsupportedVersion: return "unsupported version";
    case DecodeErrc::UnknownPacketType: return "unknown packet type";
    case DecodeErrc::UnsupportedAddressFamily: return "unsupported address family";
    case DecodeErrc::BadAddressLength: return "bad address length";
    case DecodeErrc::BadTypeLength: return "bad type/length";
    case DecodeErrc::BadExtensionOffset: return "bad extension offset";
    case DecodeErrc::BadCie: return "bad CIE";
    case DecodeErrc::BadExtension: return "bad extension";
    case DecodeErrc::ChecksumMismatch: return "checksum mismatch";
  }
  return "unknown";
}

// RFC 2332 5.2.7. A packet whose checksum fails cannot be trusted to name
// its sender, so it is dropped silently; so is one too short to hold the
// addresses an Error Indication is sent to (a truncated fixed header or
// ar$pktsz below it). A bad extension is Invalid Extension (9); every other
// malformed field is the generic Protocol Error (7), which the RFC gives
// for "invalid version number, invalid protocol type".
ErrorCode DecodeError::indication() const {
  switch (code) {
    case DecodeErrc::ChecksumMismatch:
    case DecodeErrc::PacketSizeTooSmall:
      return ErrorCode::None;
    case DecodeErrc::Truncated:
      return offset < kFixedHeaderSize ? ErrorCode::None : ErrorCode::ProtocolError;
    case DecodeErrc::BadExtension:
      return ErrorCode::InvalidExtension;
    case DecodeErrc::PacketSizeExceedsData:
    case DecodeErrc::UnsupportedVersion:
    case DecodeErrc::UnknownPacketType:
    case DecodeErrc::UnsupportedAddressFamily:
    case DecodeErrc::BadAddressLength:
    case DecodeErrc::BadTypeLength:
    case DecodeErrc::BadExtensionOffset:
    case DecodeErrc::BadCie:
      return ErrorCode::ProtocolError;
  }
  return ErrorCode::ProtocolError;
}

std::string DecodeError::message() const {
  std::string text = field_error_text(to_string(code), field, offset);
  switch (code) {
    case DecodeErrc::Truncated:
    case DecodeErrc::BadCie:
    case DecodeErrc::BadExtension:
      text += shortfall_text(needed, available);
      break;
    case DecodeErrc::PacketSizeTooSmall:
      text += ": " + std::to_string(available) + " is below the " + std::to_string(needed) + "-byte fixed header";
      break;
    case DecodeErrc::PacketSizeExceedsData:
      text += ": declares " + std::to_string(needed) + " bytes, " + std::to_string(available) + " received";
      break;
    case DecodeErrc::BadExtensionOffset:
      text += ": value " + std::to_string(available) + ", needs " + (available < needed ? ">= " : "< ") + std::to_string(needed);
      break;
    case DecodeErrc::ChecksumMismatch: {
      char buf[48];
      std::snprintf(buf, sizeof buf, ": received 0x%04zx, the bytes need 0x%04zx", available, needed);
      text += buf;
      break;
    }
    case DecodeErrc::UnsupportedVersion:
    case DecodeErrc::UnknownPacketType:
    case DecodeErrc::UnsupportedAddressFamily:
    case DecodeErrc::BadTypeLength:
      text += ": value " + std::to_string(available);
      break;
    case DecodeErrc::BadAddressLength:
      text += ": length " + std::to_string(available) + ", expected " + std::to_string(needed);
      break;
  }
  return text;
}

std::string EncodeError::message() const {
  std::string text;
  switch (code) {
    case EncodeErrc::BufferTooSmall: text = "buffer too small"; break;
    case EncodeErrc::PacketTooLarge: text = "packet larger than 65535 bytes"; break;
    case EncodeErrc::BadAddressLength: text = "address of the wrong family"; break;
    case EncodeErrc::UnsupportedFamily: text = "unsupported address family"; break;
    case EncodeErrc::AmbiguousExtension: text = "extension has both CIEs and raw value"; break;
  }
  if (!field.empty()) {
    text += ": ";
    text += field;
  }
  return text;
}

}  // namespace advpnd::nhrp
