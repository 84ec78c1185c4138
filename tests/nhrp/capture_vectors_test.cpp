// The real captures in ../shared/captures (README.md there, NHRP-WIRE.md 9.6,
// 9.7): every NHRP packet decodes with its checksum verified and re-encodes
// to the same ar$pktsz bytes; documented fields; the Cisco builders
// reproduce the replies and requests they contain; the malformed capture is
// refused with a named field. Skipped when the folder is absent.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capture/capture.h"
#include "nhrp/auth.h"
#include "nhrp/builders.h"
#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;
using advpnd::capture::CapturedNhrp;

std::vector<CapturedNhrp> read_capture(std::string_view name) {
  auto r = capture::read_nhrp_capture(advpnd::test::shared_capture(name));
  if (!r.ok()) {
    INFO("read_nhrp_capture(", name, "): ", r.error());
    REQUIRE(r.ok());
  }
  return std::move(r).value();
}

// Decodes (checksum verified), re-encodes byte for byte; returns the packet.
Packet check_well_formed(const CapturedNhrp& c) {
  INFO("frame ", c.frame);
  CHECK(c.error.empty());
  CHECK(c.in_gre);
  REQUIRE(c.nhrp.size() >= kFixedHeaderSize);
  const std::size_t pktsz = get_u16(c.nhrp, 10);
  REQUIRE(pktsz <= c.nhrp.size());
  CHECK(checksum_valid(c.nhrp));
  const Packet p = decode_ok(c.nhrp);
  const auto encoded = encode(p);
  REQUIRE(encoded.ok());
  CHECK(hex_of(*encoded) == hex_of(prefix(c.nhrp, pktsz)));
  // And every strict prefix of the packet is refused.
  for (std::size_t n = 0; n < pktsz; ++n) {
    const auto r = decode(prefix(c.nhrp, n), no_checksum());
    if (r.ok()) {
      INFO("prefix ", n, " decoded");
      CHECK_FALSE(r.ok());
    }
  }
  return p;
}

Sender cisco_sender(std::string_view nbma, std::string_view protocol, std::string password) {
  Sender s;
  s.nbma = ip(nbma);
  s.protocol = ip(protocol);
  s.dialect = Dialect::Cisco;
  s.auth_password = std::move(password);
  return s;
}

std::vector<std::uint16_t> extension_types(const Packet& p) {
  std::vector<std::uint16_t> out;
  for (const auto& e : p.extensions) out.push_back(e.raw_type);
  return out;
}

TEST_CASE("capture ios_nhrp.pcap: the 81-byte odd-length Registration Request" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const auto packets = read_capture("ios_nhrp.pcap");
  REQUIRE(packets.size() == 1);
  const CapturedNhrp& c = packets[0];
  CHECK(c.frame == 1);
  CHECK_FALSE(c.gre_key.has_value());
  CHECK(c.outer_source == ip("10.0.12.2"));
  CHECK(c.outer_destination == ip("10.0.12.1"));
  CHECK(c.nhrp.size() == 81);
  CHECK(hex_of(c.nhrp) == hex_of(bytes(kIos)));
  const Packet p = check_well_formed(c);
  CHECK(p.type == PacketType::RegistrationRequest);
  CHECK(p.received_checksum == 0xE8E4);
  CHECK(check_cisco_auth(p, "CISCO") == AuthCheck::Ok);
}

TEST_CASE("capture NHRP-responder-address.pcap: Registration Request and Reply" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const auto packets = read_capture("NHRP-responder-address.pcap");
  REQUIRE(packets.size() == 2);
  for (const auto& c : packets) {
    CHECK(c.gre_key == std::optional<std::uint32_t>{2});
  }
  CHECK(packets[0].outer_source == ip("155.1.79.2"));
  CHECK(packets[0].outer_destination == ip("6.6.6.6"));
  CHECK(packets[1].outer_source == ip("6.6.6.6"));

  const Packet request = check_well_formed(packets[0]);
  CHECK(request.type == PacketType::RegistrationRequest);
  CHECK(unsigned{request.hop_count} == 255);
  CHECK(request.flags == flags::kCiscoNat);  // `no-unique`: 0x0002
  CHECK(request.request_id == 300);
  CHECK(request.src_nbma == ip("155.1.79.2"));
  CHECK(request.src_nbma == packets[0].outer_source);  // not NATted
  CHECK(request.src_protocol == ip("155.1.0.9"));
  CHECK(request.dst_protocol == ip("155.1.0.6"));
  REQUIRE(request.cies.size() == 1);
  CHECK(unsigned{request.cies[0].prefix_length} == 32);
  CHECK(request.cies[0].mtu == 17912);
  CHECK(request.cies[0].holding_time == 7200);
  CHECK(extension_types(request) == std::vector<std::uint16_t>{0x8003, 0x8004, 0x8005, 0x8007, 0x0009, 0x8000});
  CHECK(check_cisco_auth(request, "NHRPAUTH") == AuthCheck::Ok);
  const Extension* nat = request.find_extension(ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].nbma == ip("6.6.6.6"));
  CHECK(nat->cies[0].protocol == ip("155.1.0.6"));

  const Packet reply = check_well_formed(packets[1]);
  CHECK(reply.type == PacketType::RegistrationReply);
  CHECK(reply.request_id == 300);
  CHECK(reply.flags == request.flags);
  CHECK(reply.src_protocol == request.src_protocol);
  CHECK(reply.dst_protocol == ip("155.1.0.6"));
  const Extension* responder = reply.find_extension(ExtensionType::ResponderAddress);
  REQUIRE(responder != nullptr);
  REQUIRE(responder->cies.size() == 1);
  CHECK(responder->cies[0].nbma == ip("6.6.6.6"));
  CHECK(responder->cies[0].protocol == ip("155.1.146.6"));
  CHECK(responder->cies[0].protocol != reply.dst_protocol);  // `ip nhrp responder`
  CHECK(unsigned{responder->cies[0].prefix_length} == 32);
  CHECK(check_cisco_auth(reply, "NHRPAUTH") == AuthCheck::Ok);

  SUBCASE("build_registration_reply (Cisco) reproduces the hub's reply") {
    ReplySpec spec;
    spec.sender = cisco_sender("6.6.6.6", "155.1.146.6", "NHRPAUTH");
    spec.responder = responder->cies[0];
    const Packet built = build_registration_reply(request, request.cies, spec);
    const auto encoded = encode(built);
    REQUIRE(encoded.ok());
    CHECK(hex_of(*encoded) == hex_of(prefix(packets[1].nhrp, get_u16(packets[1].nhrp, 10))));
  }
}

TEST_CASE("capture nhrp-trace.pcap: a phase-3 shortcut" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const auto packets = read_capture("nhrp-trace.pcap");
  REQUIRE(packets.size() == 4);
  std::vector<Packet> p;
  for (const auto& c : packets) {
    CHECK(c.gre_key == std::optional<std::uint32_t>{1000});
    p.push_back(check_well_formed(c));
    CHECK(check_cisco_auth(p.back(), "secret") == AuthCheck::Ok);
  }

  // 1: the hub's Traffic Indication (NHRP-WIRE.md 9.7).
  CHECK(hex_of(packets[0].nhrp) == hex_of(bytes(k97)));
  CHECK(p[0].type == PacketType::TrafficIndication);
  CHECK(packets[0].outer_source == ip("192.168.200.1"));
  CHECK(packets[0].outer_destination == ip("192.168.200.3"));
  const auto inner = inner_addresses(p[0].payload);
  REQUIRE(inner.has_value());
  CHECK(inner->source == p[0].dst_protocol);
  CHECK(inner->destination == ip("10.255.255.2"));

  // 2: the spoke's Resolution Request for the inner destination.
  CHECK(p[1].type == PacketType::ResolutionRequest);
  CHECK(p[1].flags == 0xC802);
  CHECK(unsigned{p[1].hop_count} == 255);
  CHECK(p[1].request_id == 5);
  CHECK(p[1].src_nbma == ip("192.168.200.3"));
  CHECK(p[1].src_protocol == ip("10.255.255.3"));
  CHECK(p[1].dst_protocol == inner->destination);
  REQUIRE(p[1].cies.size() == 1);
  CHECK(unsigned{p[1].cies[0].prefix_length} == 0);
  CHECK(p[1].cies[0].mtu == 1514);
  CHECK(p[1].cies[0].holding_time == 7200);
  CHECK(extension_types(p[1]) == std::vector<std::uint16_t>{0x8003, 0x8004, 0x8005, 0x8007, 0x0009, 0x8000});

  // 3: the hub forwards it: hop count - 1, itself appended to Forward Transit.
  CHECK(p[2].type == PacketType::ResolutionRequest);
  CHECK(unsigned{p[2].hop_count} == 254);
  CHECK(packets[2].outer_destination == ip("192.168.200.2"));
  const Extension* forward = p[2].find_extension(ExtensionType::ForwardTransit);
  REQUIRE(forward != nullptr);
  CHECK(forward->compulsory());
  REQUIRE(forward->cies.size() == 1);
  const Cie& hub = forward->cies[0];
  CHECK(hub.code == CieCode::Success);
  CHECK(unsigned{hub.prefix_length} == 0);
  CHECK(hub.mtu == 1514);
  CHECK(hub.holding_time == 7200);
  CHECK(hub.nbma == ip("192.168.200.1"));
  CHECK(hub.protocol == ip("10.255.255.1"));
  Packet unforwarded = p[2];
  unforwarded.hop_count = 255;
  Extension* fwd = unforwarded.find_extension(ExtensionType::ForwardTransit);
  fwd->cies.clear();
  CHECK(same_packet(p[1], unforwarded));

  // 4: the reply, sent by the responder straight to the requester's NBMA.
  CHECK(p[3].type == PacketType::ResolutionReply);
  CHECK(p[3].flags == 0xF802);
  CHECK(p[3].request_id == 5);
  CHECK(packets[3].outer_source == ip("192.168.200.2"));
  CHECK(packets[3].outer_destination == ip("192.168.200.3"));
  CHECK(p[3].src_protocol == p[1].src_protocol);
  CHECK(p[3].dst_protocol == p[1].dst_protocol);
  REQUIRE(p[3].cies.size() == 1);
  CHECK(unsigned{p[3].cies[0].prefix_length} == 32);
  CHECK(p[3].cies[0].nbma == ip("192.168.200.2"));
  CHECK(p[3].cies[0].protocol == ip("10.255.255.2"));

  SUBCASE("build_resolution_request (Cisco) reproduces packet 2") {
    ResolutionRequestSpec spec;
    spec.sender = cisco_sender("192.168.200.3", "10.255.255.3", "secret");
    spec.target = ip("10.255.255.2");
    spec.request_id = 5;
    spec.holding_time = 7200;
    spec.mtu = 1514;
    const auto encoded = encode(build_resolution_request(spec));
    REQUIRE(encoded.ok());
    CHECK(hex_of(*encoded) == hex_of(prefix(packets[1].nhrp, get_u16(packets[1].nhrp, 10))));
  }
  SUBCASE("build_resolution_reply (Cisco) to packet 3 reproduces packet 4") {
    ReplySpec spec;
    spec.sender = cisco_sender("192.168.200.2", "10.255.255.2", "secret");
    const Extension* responder = p[3].find_extension(ExtensionType::ResponderAddress);
    REQUIRE(responder != nullptr);
    REQUIRE(responder->cies.size() == 1);
    spec.responder = responder->cies[0];
    const Packet built = build_resolution_reply(p[2], p[3].cies, spec);
    const auto encoded = encode(built);
    REQUIRE(encoded.ok());
    CHECK(hex_of(*encoded) == hex_of(prefix(packets[3].nhrp, get_u16(packets[3].nhrp, 10))));
  }
}

TEST_CASE("capture pb_nhrp_1.pcap: the malformed packet is refused, naming a field" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const auto packets = read_capture("pb_nhrp_1.pcap");
  REQUIRE(packets.size() == 1);
  const CapturedNhrp& c = packets[0];
  CHECK_FALSE(c.in_gre);  // NHRP directly over IP protocol 54
  CHECK(c.error.empty());
  REQUIRE(c.nhrp.size() >= kFixedHeaderSize);
  CHECK(get_u8(c.nhrp, 17) == 1);  // claims to be a Resolution Request
  for (const DecodeOptions options : {DecodeOptions{}, no_checksum()}) {
    const auto r = decode(c.nhrp, options);
    REQUIRE_FALSE(r.ok());
    INFO("refused: ", r.error().message());
    check_error_sane(r.error(), c.nhrp.size());
    CHECK(r.error().offset < c.nhrp.size());
  }
  CHECK_FALSE(checksum_valid(c.nhrp));
  // No prefix of it crashes either.
  for (std::size_t n = 0; n < c.nhrp.size(); ++n) {
    CHECK_FALSE(decode(prefix(c.nhrp, n), no_checksum()).ok());
  }
}

}  // namespace
