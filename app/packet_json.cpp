#include "app/packet_json.h"

#include <array>
#include <cstdint>
#include <optional>

#include "base/byte_io.h"
#include "nhrp/auth.h"
#include "nhrp/builders.h"
#include "nhrp/types.h"

namespace advpnd::app {

namespace {

struct FlagName {
  std::uint16_t bit;
  std::string_view name;
};

constexpr std::array<FlagName, 6> kResolutionFlags{{
    {nhrp::flags::kResolutionQ, "Q"},
    {nhrp::flags::kResolutionA, "A"},
    {nhrp::flags::kResolutionD, "D"},
    {nhrp::flags::kResolutionU, "U"},
    {nhrp::flags::kResolutionS, "S"},
    {nhrp::flags::kCiscoNat, "NAT"},
}};
constexpr std::array<FlagName, 2> kRegistrationFlags{{
    {nhrp::flags::kRegistrationU, "U"},
    {nhrp::flags::kCiscoNat, "NAT"},
}};
constexpr std::array<FlagName, 2> kPurgeFlags{{
    {nhrp::flags::kPurgeN, "N"},
    {nhrp::flags::kCiscoNat, "NAT"},
}};

std::span<const FlagName> flag_table(nhrp::PacketType type) {
  switch (type) {
    case nhrp::PacketType::ResolutionRequest:
    case nhrp::PacketType::ResolutionReply:
      return kResolutionFlags;
    case nhrp::PacketType::RegistrationRequest:
    case nhrp::PacketType::RegistrationReply:
      return kRegistrationFlags;
    case nhrp::PacketType::PurgeRequest:
    case nhrp::PacketType::PurgeReply:
      return kPurgeFlags;
    default:
      return {};
  }
}

std::size_t cie_length(const nhrp::Cie& cie) {
  return nhrp::kCieHeaderSize + cie.nbma.size() + cie.nbma_subaddress.size() + cie.protocol.size();
}

void write_cies(JsonWriter& json, std::string_view name, const std::vector<nhrp::Cie>& cies) {
  json.key(name).begin_array();
  for (const auto& cie : cies) write_cie(json, cie);
  json.end_array();
}

// What an Error Indication quotes (RFC 2332 5.2.7: the offending packet from
// its fixed header on): its type and, for types 1-6, its Request ID. FRR
// quotes only the headers and addresses, so this reads fields, not a packet.
void write_offending_summary(JsonWriter& json, std::span<const std::byte> quoted) {
  ByteReader reader(quoted);
  std::uint8_t version = 0, type = 0;
  std::uint32_t request_id = 0;
  if (!reader.skip(16) || !reader.read_u8(version) || !reader.read_u8(type) || version != nhrp::kVersion) {
    return;
  }
  json.key("offending").begin_object();
  json.field("op_type", type);
  json.field("type", nhrp::to_string(static_cast<nhrp::PacketType>(type)));
  if (nhrp::has_common_header(static_cast<nhrp::PacketType>(type)) && reader.skip(6) && reader.read_u32(request_id)) {
    json.field("request_id", request_id);
  }
  json.end_object();
}

void write_address_or_null(JsonWriter& json, std::string_view name, const std::optional<IpAddress>& address) {
  json.key(name);
  if (address) {
    json.value(address->to_string());
  } else {
    json.null();
  }
}

void write_mandatory_by_type(JsonWriter& json, const nhrp::Packet& packet) {
  if (nhrp::has_common_header(packet.type)) {
    json.field("request_id", packet.request_id);
    json.field("flags", packet.flags);
    json.key("flag_names").begin_array();
    for (const auto& name : flag_names(packet.type, packet.flags)) json.value(name);
    json.end_array();
    return;
  }
  // Types 7 and 8: bytes 22-23 are unused (FRR copies the offending flags there).
  if (packet.flags != 0) json.field("unused", packet.flags);
  if (packet.type == nhrp::PacketType::ErrorIndication) {
    json.field("error_code", static_cast<std::uint16_t>(packet.error_code));
    json.field("error_name", nhrp::to_string(packet.error_code));
    json.field("error_offset", packet.error_offset);
  } else if (packet.type == nhrp::PacketType::TrafficIndication) {
    json.field("traffic_code", packet.traffic_code);
    if (packet.traffic_unused != 0) json.field("traffic_unused", packet.traffic_unused);
  }
}

void write_payload(JsonWriter& json, const nhrp::Packet& packet) {
  if (packet.type == nhrp::PacketType::ErrorIndication) {
    json.field("payload_length", packet.payload.size());
    write_offending_summary(json, packet.payload);
  } else if (packet.type == nhrp::PacketType::TrafficIndication) {
    // The triggering data packet; receivers resolve its destination (NHRP-WIRE.md 5).
    json.field("payload_length", packet.payload.size());
    const auto inner = nhrp::inner_addresses(packet.payload);
    write_address_or_null(json, "inner_src", inner ? std::optional(inner->source) : std::nullopt);
    write_address_or_null(json, "inner_dst", inner ? std::optional(inner->destination) : std::nullopt);
  } else if (!packet.payload.empty()) {
    json.field("payload_length", packet.payload.size());
  }
}

}  // namespace

std::vector<std::string> flag_names(nhrp::PacketType type, std::uint16_t flags) {
  std::vector<std::string> names;
  std::uint16_t known = 0;
  for (const auto& flag : flag_table(type)) {
    known = static_cast<std::uint16_t>(known | flag.bit);
    if ((flags & flag.bit) != 0) names.emplace_back(flag.name);
  }
  for (unsigned bit = 0x8000; bit != 0; bit >>= 1) {
    if ((flags & bit) != 0 && (known & bit) == 0) names.push_back(hex_u16(static_cast<std::uint16_t>(bit)));
  }
  return names;
}

std::string hex_string(std::span<const std::byte> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out += kHex[v >> 4];
    out += kHex[v & 0xF];
  }
  return out;
}

std::string hex_u16(std::uint16_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) text += kHex[(value >> shift) & 0xF];
  return text;
}

void write_cie(JsonWriter& json, const nhrp::Cie& cie) {
  json.begin_object();
  json.field("code", static_cast<std::uint8_t>(cie.code));
  json.field("code_name", nhrp::to_string(cie.code));
  json.field("prefix_len", cie.prefix_length);
  json.field("mtu", cie.mtu);
  json.field("holding_time", cie.holding_time);
  json.field("preference", cie.preference);
  json.field("nbma", cie.nbma.to_string());
  if (!cie.nbma_subaddress.empty()) json.field("nbma_subaddress", cie.nbma_subaddress.to_string());
  json.field("proto", cie.protocol.to_string());
  if (cie.reserved != 0) json.field("reserved", cie.reserved);
  json.end_object();
}

std::size_t extension_length(const nhrp::Extension& extension) {
  if (extension.cies.empty()) return extension.value.size();
  std::size_t length = 0;
  for (const auto& cie : extension.cies) length += cie_length(cie);
  return length;
}

void write_extension(JsonWriter& json, const nhrp::Extension& extension) {
  json.begin_object();
  json.field("type", static_cast<std::uint16_t>(extension.raw_type & nhrp::kExtensionTypeMask));
  json.field("name", nhrp::to_string(extension.type()));
  json.field("compulsory", extension.compulsory());
  json.field("length", extension_length(extension));
  if (nhrp::carries_cies(extension.type()) && extension.value.empty()) {
    write_cies(json, "cies", extension.cies);  // possibly empty: a request's Forward Transit
  } else if (extension.type() == nhrp::ExtensionType::Authentication && nhrp::cisco_auth_password(extension)) {
    // Cisco cleartext (NHRP-WIRE.md 7.5): SPI 1, then the password bytes.
    const auto password = *nhrp::cisco_auth_password(extension);
    json.field("spi", nhrp::kCiscoAuthSpi);
    json.field("password", std::string_view(reinterpret_cast<const char*>(password.data()), password.size()));
  } else if (!extension.value.empty()) {
    json.field("value", hex_string(extension.value));
  }
  json.end_object();
}

void write_packet_fields(JsonWriter& json, const nhrp::Packet& packet) {
  json.field("op_type", static_cast<std::uint8_t>(packet.type));
  json.field("type", nhrp::to_string(packet.type));
  json.field("hop_count", packet.hop_count);
  write_mandatory_by_type(json, packet);
  json.field("src_nbma", packet.src_nbma.to_string());
  if (!packet.src_nbma_subaddress.empty()) {
    json.field("src_nbma_subaddress", packet.src_nbma_subaddress.to_string());
  }
  json.field("src_proto", packet.src_protocol.to_string());
  json.field("dst_proto", packet.dst_protocol.to_string());
  if (nhrp::has_common_header(packet.type)) write_cies(json, "cies", packet.cies);
  write_payload(json, packet);
  json.key("extensions").begin_array();
  for (const auto& extension : packet.extensions) write_extension(json, extension);
  json.end_array();
  if (!packet.trailer.empty()) {
    json.field("trailer_length", packet.trailer.size());
    json.field("trailer", hex_string(packet.trailer));
  }
}

}  // namespace advpnd::app
