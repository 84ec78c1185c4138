// Golden vectors: every example packet of NHRP-WIRE.md 9 (9.1-9.7, the 9.1
// Authentication variant and the 81-byte ios_nhrp packet of 9.6) decodes to
// the fields the spec documents and re-encodes byte for byte. A few
// constructed packets cover the types and families the spec has no example of.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "nhrp/auth.h"
#include "nhrp/builders.h"
#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

struct CieSpec {
  CieCode code = CieCode::Success;
  std::uint8_t prefix_length = 0;
  std::uint16_t mtu = 0;
  std::uint16_t holding_time = 0;
  std::string_view nbma;      // "" = empty (length 0 on the wire)
  std::string_view protocol;  // "" = empty
};

IpAddress addr_or_empty(std::string_view text) { return text.empty() ? IpAddress{} : ip(text); }

void check_cie(const Cie& c, const CieSpec& want) {
  CHECK(c.code == want.code);
  CHECK(unsigned{c.prefix_length} == unsigned{want.prefix_length});
  CHECK(c.reserved == 0);
  CHECK(c.mtu == want.mtu);
  CHECK(c.holding_time == want.holding_time);
  CHECK(unsigned{c.preference} == 0);
  CHECK(c.nbma == addr_or_empty(want.nbma));
  CHECK(c.nbma_subaddress.empty());
  CHECK(c.protocol == addr_or_empty(want.protocol));
}

struct ExtSpec {
  std::uint16_t raw_type;
  std::size_t length;  // value bytes on the wire
};

void check_extensions(const Packet& p, std::initializer_list<ExtSpec> want) {
  REQUIRE(p.extensions.size() == want.size());
  std::size_t i = 0;
  for (const auto& w : want) {
    const Extension& e = p.extensions[i];
    INFO("extension #", i, " raw type ", e.raw_type);
    CHECK(e.raw_type == w.raw_type);
    CHECK(e.compulsory() == ((w.raw_type & kExtensionCompulsory) != 0));
    CHECK(e.type() == static_cast<ExtensionType>(w.raw_type & kExtensionTypeMask));
    CHECK(extension_wire_length(e) == w.length);
    // At most one of cies and value is set; a CIE-carrying type holds CIEs.
    CHECK((e.cies.empty() || e.value.empty()));
    if (carries_cies(e.type()) && w.length > 0) CHECK_FALSE(e.cies.empty());
    ++i;
  }
}

// afn 1, pro 0x0800, snap 0, version 1 (NHRP-WIRE.md 2).
void check_fixed(const Packet& p, PacketType type, unsigned hop_count, std::uint16_t checksum) {
  CHECK(p.afn == kAfnIpv4);
  CHECK(p.protocol_type == kProtocolIpv4);
  for (const auto b : p.protocol_snap) CHECK(unsigned{b} == 0);
  CHECK(unsigned{p.version} == 1);
  CHECK(p.type == type);
  CHECK(unsigned{p.hop_count} == hop_count);
  CHECK(p.received_checksum == checksum);
}

std::string auth_password(const Packet& p) {
  const Extension* e = p.find_extension(ExtensionType::Authentication);
  REQUIRE(e != nullptr);
  const auto pw = cisco_auth_password(*e);
  REQUIRE(pw.has_value());
  return text_of(*pw);
}

Bytes slice(const Bytes& b, std::size_t from, std::size_t to) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(to));
}

constexpr CieSpec kNatCie91{CieCode::Success, 32, 0, 0, "203.0.113.1", "10.0.0.1"};

TEST_CASE("9.1 FRR Registration Request decodes to the documented fields") {
  const Packet p = decode_ok(k91);
  check_fixed(p, PacketType::RegistrationRequest, 1, 0xDE84);
  CHECK(p.flags == (flags::kRegistrationU | flags::kCiscoNat));
  CHECK(p.request_id == 1);
  CHECK(p.src_nbma == ip("198.51.100.2"));
  CHECK(p.src_nbma_subaddress.empty());
  CHECK(p.src_protocol == ip("10.0.0.2"));
  CHECK(p.dst_protocol == ip("10.0.0.1"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 0xFF, 0, 600, "", ""});
  check_extensions(p, {{0x8004, 0}, {0x8005, 0}, {0x8003, 0}, {0x0009, 20}, {0x8000, 0}});
  REQUIRE(p.extensions[3].cies.size() == 1);
  check_cie(p.extensions[3].cies[0], kNatCie91);
  CHECK(p.payload.empty());
  CHECK(p.trailer.empty());
  CHECK(p.find_extension(ExtensionType::Authentication) == nullptr);
  REQUIRE(p.find_extension(ExtensionType::CiscoNatAddress) != nullptr);
  CHECK(p.find_extension(ExtensionType::CiscoNatAddress) == &p.extensions[3]);
}

TEST_CASE("9.1 with authentication: Auth before End, pktsz 106, checksum 0x2218") {
  const Bytes wire = bytes(k91Auth);
  CHECK(wire.size() == 106);
  const Packet p = decode_ok(wire);
  check_fixed(p, PacketType::RegistrationRequest, 1, 0x2218);
  CHECK(p.flags == 0x8002);
  check_extensions(p, {{0x8004, 0}, {0x8005, 0}, {0x8003, 0}, {0x0009, 20}, {0x8007, 10}, {0x8000, 0}});
  CHECK(hex_of(p.extensions[4].value) == "00 00 00 01 73 65 63 72 65 74");
  CHECK(auth_password(p) == "secret");
  // Apart from the extension and the checksum it is 9.1.
  Packet without = p;
  without.extensions.erase(without.extensions.begin() + 4);
  CHECK(same_packet(decode_ok(k91), without));
}

TEST_CASE("9.2 Cisco-style Registration Request decodes to the documented fields") {
  const Packet p = decode_ok(k92);
  check_fixed(p, PacketType::RegistrationRequest, 255, 0xD375);
  CHECK(p.flags == 0x8002);
  CHECK(p.request_id == 1);
  CHECK(p.src_nbma == ip("198.51.100.2"));
  CHECK(p.src_protocol == ip("10.0.0.2"));
  CHECK(p.dst_protocol == ip("10.0.0.1"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 32, 1400, 600, "", ""});
  // Cisco order: Responder, Forward, Reverse, NAT, End.
  check_extensions(p, {{0x8003, 0}, {0x8004, 0}, {0x8005, 0}, {0x0009, 20}, {0x8000, 0}});
  REQUIRE(p.extensions[3].cies.size() == 1);
  check_cie(p.extensions[3].cies[0], {CieCode::Success, 32, 1400, 0, "203.0.113.1", "10.0.0.1"});
}

TEST_CASE("9.3 FRR Registration Reply decodes to the documented fields") {
  const Packet p = decode_ok(k93);
  check_fixed(p, PacketType::RegistrationReply, 64, 0x73F9);
  CHECK(p.flags == 0x8002);
  CHECK(p.request_id == 1);
  CHECK(p.src_nbma == ip("198.51.100.2"));
  CHECK(p.src_protocol == ip("10.0.0.2"));
  CHECK(p.dst_protocol == ip("10.0.0.1"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 0xFF, 0, 600, "", ""});
  check_extensions(p, {{0x8004, 0}, {0x8005, 0}, {0x8003, 20}, {0x0009, 20}, {0x8000, 0}});
  REQUIRE(p.extensions[2].cies.size() == 1);
  check_cie(p.extensions[2].cies[0], {CieCode::Success, 0, 0, 7200, "203.0.113.1", "10.0.0.1"});
  REQUIRE(p.extensions[3].cies.size() == 1);
  check_cie(p.extensions[3].cies[0], kNatCie91);
  const Extension* responder = p.find_extension(ExtensionType::ResponderAddress);
  CHECK(responder == &p.extensions[2]);
}

TEST_CASE("9.4 FRR Traffic Indication decodes to the documented fields") {
  const Bytes wire = bytes(k94);
  const Packet p = decode_ok(wire);
  check_fixed(p, PacketType::TrafficIndication, 1, 0xDDF5);
  CHECK(p.flags == 0);  // unused
  CHECK(p.traffic_code == kTrafficCodeRedirect);
  CHECK(p.traffic_unused == 0);
  CHECK(p.src_nbma == ip("203.0.113.1"));
  CHECK(p.src_protocol == ip("10.0.0.1"));
  CHECK(p.dst_protocol == ip("192.168.2.10"));  // the inner packet's *source* (NHRP-WIRE.md 5)
  CHECK(p.cies.empty());
  CHECK(p.extensions.empty());  // extoff 0
  CHECK(p.payload.size() == kTrafficIndicationPayload);
  CHECK(hex_of(p.payload) == hex_of(slice(wire, 40, 68)));
  const auto inner = inner_addresses(p.payload);
  REQUIRE(inner.has_value());
  CHECK(inner->source == ip("192.168.2.10"));
  CHECK(inner->destination == ip("192.168.3.20"));
  CHECK(inner->source == p.dst_protocol);
}

TEST_CASE("9.5 FRR Resolution Request decodes to the documented fields") {
  const Packet p = decode_ok(k95);
  check_fixed(p, PacketType::ResolutionRequest, 64, 0x2AD6);
  CHECK(p.flags == (flags::kResolutionQ | flags::kResolutionA | flags::kResolutionS | flags::kCiscoNat));
  CHECK(p.flags == 0xC802);
  CHECK(p.request_id == 2);
  CHECK(p.src_nbma == ip("198.51.100.2"));
  CHECK(p.src_protocol == ip("10.0.0.2"));
  CHECK(p.dst_protocol == ip("192.168.3.20"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 0xFF, 0, 600, "", ""});
  // NAT present but empty (length 0).
  check_extensions(p, {{0x8004, 0}, {0x8005, 0}, {0x8003, 0}, {0x0009, 0}, {0x8000, 0}});
  CHECK(p.extensions[3].cies.empty());
  CHECK(p.extensions[3].value.empty());
}

TEST_CASE("9.6 real Cisco Registration Request decodes to the documented fields") {
  const Packet p = decode_ok(k96);
  check_fixed(p, PacketType::RegistrationRequest, 255, 0x197B);
  CHECK(p.flags == 0x8002);
  CHECK(p.request_id == 1);
  CHECK(p.src_nbma == ip("169.254.100.1"));
  CHECK(p.src_protocol == ip("155.1.0.1"));
  CHECK(p.dst_protocol == ip("155.1.0.5"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 32, 17912, 7200, "", ""});
  check_extensions(p, {{0x8003, 0}, {0x8004, 0}, {0x8005, 0}, {0x8007, 12}, {0x0009, 20}, {0x8000, 0}});
  CHECK(auth_password(p) == "NHRPAUTH");
  REQUIRE(p.extensions[4].cies.size() == 1);
  check_cie(p.extensions[4].cies[0], {CieCode::Success, 32, 17912, 0, "169.254.100.5", "155.1.0.5"});
}

TEST_CASE("9.6 odd-length ios_nhrp Registration Request (81 bytes) decodes") {
  const Bytes wire = bytes(kIos);
  CHECK(wire.size() == 81);
  const Packet p = decode_ok(wire);
  check_fixed(p, PacketType::RegistrationRequest, 255, 0xE8E4);
  CHECK(p.flags == flags::kRegistrationU);  // older IOS: no NAT bit
  CHECK(p.request_id == 5);
  CHECK(p.src_nbma == ip("10.0.12.2"));
  CHECK(p.src_protocol == ip("192.168.0.2"));
  CHECK(p.dst_protocol == ip("192.168.0.1"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 255, 1514, 30, "", ""});
  check_extensions(p, {{0x8003, 0}, {0x8004, 0}, {0x8005, 0}, {0x8007, 9}, {0x8000, 0}});
  CHECK(hex_of(p.extensions[3].value) == "00 00 00 01 43 49 53 43 4f");
  CHECK(auth_password(p) == "CISCO");
  CHECK(p.trailer.empty());
}

TEST_CASE("9.7 real Cisco Traffic Indication decodes to the documented fields") {
  const Bytes wire = bytes(k97);
  const Packet p = decode_ok(wire);
  check_fixed(p, PacketType::TrafficIndication, 255, 0xD9D0);
  CHECK(get_u16(wire, 14) == 68);
  CHECK(p.flags == 0);
  CHECK(p.traffic_code == 0);
  CHECK(p.traffic_unused == 0);
  CHECK(p.src_nbma == ip("192.168.200.1"));
  CHECK(p.src_protocol == ip("10.255.255.1"));
  CHECK(p.dst_protocol == ip("10.255.255.3"));
  CHECK(p.cies.empty());
  CHECK(p.payload.size() == 28);
  CHECK(hex_of(p.payload) == hex_of(slice(wire, 40, 68)));
  const auto inner = inner_addresses(p.payload);
  REQUIRE(inner.has_value());
  CHECK(inner->source == ip("10.255.255.3"));
  CHECK(inner->destination == ip("10.255.255.2"));
  check_extensions(p, {{0x8004, 0}, {0x8005, 0}, {0x8007, 10}, {0x0009, 0}, {0x8000, 0}});
  CHECK(auth_password(p) == "secret");
}

TEST_CASE("every vector: encode(decode(v)) == v byte for byte") {
  for (const auto& v : all_vectors()) {
    INFO("vector ", v.name);
    const Bytes wire = bytes(v.hex);
    const Packet p = decode_ok(wire);
    CHECK(p.received_checksum == get_u16(wire, 12));
    CHECK(encoded_size(p) == wire.size());
    const auto encoded = encode(p);
    REQUIRE(encoded.ok());
    CHECK(hex_of(*encoded) == hex_of(wire));
    Bytes exact(wire.size());
    const auto n = encode(p, exact);
    REQUIRE(n.ok());
    CHECK(*n == wire.size());
    CHECK(hex_of(exact) == hex_of(wire));
    // And back again.
    CHECK(decode_ok(*encoded) == p);
  }
}

TEST_CASE("constructed Error Indication decodes code, offset and the quoted packet") {
  const Bytes wire = bytes(kErrorIndication);
  const Packet p = decode_ok(wire);
  check_fixed(p, PacketType::ErrorIndication, 255, 0xA0F5);
  CHECK(p.flags == 0);
  CHECK(p.error_code == ErrorCode::HopCountExceeded);
  CHECK(p.error_offset == 9);
  CHECK(p.src_nbma == ip("203.0.113.1"));
  CHECK(p.src_protocol == ip("10.0.0.1"));
  CHECK(p.dst_protocol == ip("10.0.0.2"));
  CHECK(p.cies.empty());
  CHECK(p.extensions.empty());
  CHECK(hex_of(p.payload) == hex_of(prefix(bytes(k95), 40)));
}

TEST_CASE("constructed IPv6 overlay Resolution Request (pro.type 0x86DD)") {
  const Packet p = decode_ok(kIpv6Overlay);
  CHECK(p.afn == kAfnIpv4);
  CHECK(p.protocol_type == kProtocolIpv6);
  CHECK(p.type == PacketType::ResolutionRequest);
  CHECK(p.flags == 0xC802);
  CHECK(p.request_id == 7);
  CHECK(p.src_nbma == ip("198.51.100.2"));
  CHECK(p.src_protocol == ip("2001:db8::2"));
  CHECK(p.src_protocol.family() == AddressFamily::Ipv6);
  CHECK(p.dst_protocol == ip("2001:db8:1::20"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 0xFF, 0, 600, "", ""});
  check_extensions(p, {{0x8003, 0}, {0x8000, 0}});
}

TEST_CASE("constructed IPv6 NBMA and overlay Registration Request (afn 2)") {
  const Packet p = decode_ok(kIpv6Full);
  CHECK(p.afn == kAfnIpv6);
  CHECK(p.protocol_type == kProtocolIpv6);
  CHECK(p.type == PacketType::RegistrationRequest);
  CHECK(unsigned{p.hop_count} == 255);
  CHECK(p.request_id == 0x01020304);
  CHECK(p.src_nbma == ip("2001:db8:ffff::2"));
  CHECK(p.src_protocol == ip("fd00::2"));
  CHECK(p.dst_protocol == ip("fd00::1"));
  REQUIRE(p.cies.size() == 1);
  check_cie(p.cies[0], {CieCode::Success, 128, 1400, 7200, "2001:db8:ffff::2", "fd00::2"});
  CHECK(p.extensions.empty());
}

TEST_CASE("bytes after End inside ar$pktsz are kept as the trailer") {
  const Packet p = decode_ok(kTrailer);
  CHECK(hex_of(p.trailer) == "de ad be ef");
  REQUIRE_FALSE(p.extensions.empty());
  CHECK(p.extensions.back().type() == ExtensionType::End);
  Packet no_trailer = p;
  no_trailer.trailer.clear();
  CHECK(same_packet(decode_ok(k95), no_trailer));
}

TEST_CASE("an unknown compulsory extension is kept raw, in place") {
  const Packet p = decode_ok(kUnknownExtension);
  check_extensions(p, {{0x8004, 0}, {0x8005, 0}, {0x8003, 0}, {0x8033, 2}, {0x8000, 0}});
  CHECK(p.extensions[3].compulsory());
  CHECK(p.extensions[3].cies.empty());
  CHECK(hex_of(p.extensions[3].value) == "ab cd");
}

TEST_CASE("odd-length Traffic Indication with a nonzero last byte") {
  const Packet p = decode_ok(kTrafficOdd);
  CHECK(p.payload.size() == 29);
  CHECK(std::to_integer<unsigned>(p.payload.back()) == 0xAB);
  CHECK(p.received_checksum == 0x32F4);
}

TEST_CASE("unusual but legal raw values survive decoding") {
  // CIE code 11 (FRR's "no binding"), Cisco "no binding" 12, an unassigned
  // code, snap bytes and an End written as 0x0000 are all kept as on the wire.
  Bytes wire = bytes(k93);
  put_u8(wire, 40, 11);
  put_u8(wire, 43, 0x5A);  // CIE "unused" low byte
  put_u8(wire, 51, 7);     // preference
  put_u8(wire, 4, 0x01);   // ar$pro.snap
  put_u16(wire, 108, 0x0000);  // End without the compulsory bit
  reseal(wire);
  const Packet p = decode_ok(wire);
  REQUIRE(p.cies.size() == 1);
  CHECK(p.cies[0].code == CieCode::NoBindingFrrValue);
  CHECK(is_no_binding(p.cies[0].code));
  CHECK(p.cies[0].reserved == 0x005A);
  CHECK(unsigned{p.cies[0].preference} == 7);
  CHECK(unsigned{p.protocol_snap[0]} == 1);
  REQUIRE(p.extensions.size() == 5);
  CHECK(p.extensions[4].raw_type == 0x0000);
  CHECK(p.extensions[4].type() == ExtensionType::End);
  const auto encoded = encode(p);
  REQUIRE(encoded.ok());
  CHECK(hex_of(*encoded) == hex_of(wire));

  put_u8(wire, 40, 0x77);
  reseal(wire);
  const Packet q = decode_ok(wire);
  CHECK(static_cast<unsigned>(q.cies.at(0).code) == 0x77);
  const auto encoded_q = encode(q);
  REQUIRE(encoded_q.ok());
  CHECK(hex_of(*encoded_q) == hex_of(wire));
}

}  // namespace
