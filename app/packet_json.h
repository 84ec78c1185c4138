// JSON rendering of decoded NHRP packets: the shape the decode tool prints
// (and the control socket will reuse). Field names follow RFC 2332's
// ar$ fields in plain words; addresses are text, codes are numbers with
// their names alongside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "app/json.h"
#include "nhrp/packet.h"

namespace advpnd::app {

// Names of the flags set in `flags` for packets of `type` (RFC 2332 5.2.1,
// 5.2.3, 5.2.5; "NAT" is Cisco's 0x0002, NHRP-WIRE.md 3.1). Bits with no
// name for the type come out as hex ("0x0400").
[[nodiscard]] std::vector<std::string> flag_names(nhrp::PacketType type, std::uint16_t flags);

// Lower-case hex, no separators.
[[nodiscard]] std::string hex_string(std::span<const std::byte> bytes);
// "0x" and four lower-case hex digits.
[[nodiscard]] std::string hex_u16(std::uint16_t value);

// {"code", "code_name", "prefix_len", "mtu", "holding_time", "preference",
//  "nbma", "proto"} plus "nbma_subaddress" / "reserved" when not empty / zero.
void write_cie(JsonWriter& json, const nhrp::Cie& cie);

// {"type" (without the compulsory bit), "name", "compulsory", "length"
// (value bytes on the wire)} and, by type: "cies" for Responder Address,
// Forward/Reverse Transit and Cisco NAT; "spi" and "password" for a Cisco
// cleartext Authentication extension; "value" (hex) for anything else that
// has a value.
void write_extension(JsonWriter& json, const nhrp::Extension& extension);

// Bytes the extension's value takes on the wire.
[[nodiscard]] std::size_t extension_length(const nhrp::Extension& extension);

// The NHRP fields of a decoded packet, written into the open object: type,
// header, the mandatory part by type, CIEs, payload, extensions.
void write_packet_fields(JsonWriter& json, const nhrp::Packet& packet);

}  // namespace advpnd::app
