// Builders (nhrp/builders.h): each NHRP-WIRE.md 9 vector is reproduced byte
// for byte from the station's configuration (9.1/9.3/9.4/9.5 FRR dialect,
// 9.2/9.6/9.7 Cisco), plus the rules of NHRP-WIRE.md 3.1, 5, 6, 7.4, 8.5 for
// the packets that have no vector.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nhrp/auth.h"
#include "nhrp/builders.h"
#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

Sender make_sender(std::string_view nbma, std::string_view protocol, Dialect dialect,
                   std::optional<std::string> password = std::nullopt) {
  Sender s;
  s.nbma = ip(nbma);
  s.protocol = ip(protocol);
  s.dialect = dialect;
  s.auth_password = std::move(password);
  return s;
}

// The built packet encodes to exactly the vector (and decodes to the same fields).
void check_builds(const Packet& built, std::string_view vector_hex) {
  const Bytes want = bytes(vector_hex);
  const auto encoded = encode(built);
  REQUIRE(encoded.ok());
  CHECK(hex_of(*encoded) == hex_of(want));
  CHECK(same_packet(decode_ok(want), built));
}

std::vector<std::uint16_t> extension_types(const Packet& p) {
  std::vector<std::uint16_t> out;
  for (const auto& e : p.extensions) out.push_back(e.raw_type);
  return out;
}

RegistrationRequestSpec spec_91(Dialect dialect) {
  RegistrationRequestSpec spec;
  spec.sender = make_sender("198.51.100.2", "10.0.0.2", dialect);
  spec.nhs_protocol = ip("10.0.0.1");
  spec.nhs_nbma = ip("203.0.113.1");
  spec.request_id = 1;
  spec.holding_time = 600;
  spec.mtu = 0;
  spec.unique = true;
  return spec;
}

Bytes payload_of(std::string_view vector_hex) {
  const Bytes wire = bytes(vector_hex);
  return Bytes(wire.begin() + 40, wire.begin() + 68);
}

TEST_CASE("build_registration_request (FRR) reproduces 9.1") {
  check_builds(build_registration_request(spec_91(Dialect::Frr)), k91);
}

TEST_CASE("build_registration_request (FRR, password secret) reproduces 9.1 with auth") {
  auto spec = spec_91(Dialect::Frr);
  spec.sender.auth_password = "secret";
  check_builds(build_registration_request(spec), k91Auth);
}

TEST_CASE("build_registration_request (Cisco, MTU 1400) reproduces 9.2") {
  auto spec = spec_91(Dialect::Cisco);
  spec.mtu = 1400;
  check_builds(build_registration_request(spec), k92);
}

TEST_CASE("build_registration_reply (FRR NHS) to the decoded 9.1 reproduces 9.3") {
  const Packet request = decode_ok(k91);
  ReplySpec spec;
  spec.sender = make_sender("203.0.113.1", "10.0.0.1", Dialect::Frr);
  spec.responder = Cie{};
  spec.responder.code = CieCode::Success;
  spec.responder.holding_time = 7200;
  spec.responder.nbma = ip("203.0.113.1");
  spec.responder.protocol = ip("10.0.0.1");
  check_builds(build_registration_reply(request, request.cies, spec), k93);

  SUBCASE("a request with Auth, replied by an FRR NHS without a password: Auth copied") {
    // NHRP-WIRE.md 7.4: "In its Registration Reply, FRR copies the request's
    // Auth extension instead of regenerating it."
    const Packet with_auth = decode_ok(k91Auth);
    const Packet reply = build_registration_reply(with_auth, with_auth.cies, spec);
    CHECK(extension_types(reply) == std::vector<std::uint16_t>{0x8004, 0x8005, 0x8003, 0x0009, 0x8007, 0x8000});
    CHECK(check_cisco_auth(reply, "secret") == AuthCheck::Ok);
    Packet without = reply;
    without.extensions.erase(without.extensions.begin() + 4);
    check_builds(without, k93);
  }
  SUBCASE("a request with Auth, replied with a password: Auth regenerated in place") {
    const Packet with_auth = decode_ok(k91Auth);
    spec.sender.auth_password = "other";
    const Packet reply = build_registration_reply(with_auth, with_auth.cies, spec);
    CHECK(extension_types(reply) == std::vector<std::uint16_t>{0x8004, 0x8005, 0x8003, 0x0009, 0x8007, 0x8000});
    CHECK(check_cisco_auth(reply, "other") == AuthCheck::Ok);
  }
  SUBCASE("nat_append adds a CIE after the copied NAT CIE") {
    Cie nat;
    nat.prefix_length = 32;
    nat.nbma = ip("192.0.2.77");
    nat.protocol = ip("10.0.0.2");
    spec.nat_append = {nat};
    const Packet reply = build_registration_reply(request, request.cies, spec);
    const Extension* ext = reply.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE(ext != nullptr);
    REQUIRE(ext->cies.size() == 2);
    CHECK(ext->cies[0] == request.find_extension(ExtensionType::CiscoNatAddress)->cies.at(0));
    CHECK(ext->cies[1] == nat);
  }
}

TEST_CASE("build_traffic_indication (FRR hub) reproduces 9.4") {
  TrafficIndicationSpec spec;
  spec.sender = make_sender("203.0.113.1", "10.0.0.1", Dialect::Frr);
  const Bytes inner = payload_of(k94);
  spec.inner_packet = inner;
  auto built = build_traffic_indication(spec);
  REQUIRE(built.ok());
  check_builds(*built, k94);

  SUBCASE("the whole 84-byte inner packet is quoted up to 28 bytes") {
    Bytes whole = inner;
    whole.resize(84, std::byte{0x5A});
    spec.inner_packet = whole;
    auto again = build_traffic_indication(spec);
    REQUIRE(again.ok());
    check_builds(*again, k94);
    spec.payload_limit = 64;
    auto longer = build_traffic_indication(spec);
    REQUIRE(longer.ok());
    CHECK(longer->payload.size() == 64);
  }
}

TEST_CASE("build_resolution_request (FRR) reproduces 9.5") {
  ResolutionRequestSpec spec;
  spec.sender = make_sender("198.51.100.2", "10.0.0.2", Dialect::Frr);
  spec.target = ip("192.168.3.20");
  spec.request_id = 2;
  spec.holding_time = 600;
  spec.mtu = 0;
  check_builds(build_resolution_request(spec), k95);

  SUBCASE("a known own post-NAT NBMA goes in the NAT extension") {
    spec.own_nat_nbma = ip("192.0.2.50");
    const Packet p = build_resolution_request(spec);
    const Extension* nat = p.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE(nat != nullptr);
    REQUIRE(nat->cies.size() == 1);
    CHECK(nat->cies[0].nbma == ip("192.0.2.50"));
    CHECK(nat->cies[0].protocol == ip("10.0.0.2"));
  }
}

TEST_CASE("build_registration_request (Cisco, password NHRPAUTH) reproduces 9.6") {
  RegistrationRequestSpec spec;
  spec.sender = make_sender("169.254.100.1", "155.1.0.1", Dialect::Cisco, "NHRPAUTH");
  spec.nhs_protocol = ip("155.1.0.5");
  spec.nhs_nbma = ip("169.254.100.5");
  spec.request_id = 1;
  spec.holding_time = 7200;
  spec.mtu = 17912;
  check_builds(build_registration_request(spec), k96);
}

TEST_CASE("build_traffic_indication (Cisco hub, password secret) reproduces 9.7") {
  TrafficIndicationSpec spec;
  spec.sender = make_sender("192.168.200.1", "10.255.255.1", Dialect::Cisco, "secret");
  const Bytes inner = payload_of(k97);
  REQUIRE(inner.size() == 28);
  spec.inner_packet = inner;
  auto built = build_traffic_indication(spec);
  REQUIRE(built.ok());
  check_builds(*built, k97);
}

TEST_CASE("registration request prefix length and flags by dialect") {
  auto spec = spec_91(Dialect::Cisco);
  CHECK(unsigned{build_registration_request(spec).cies.at(0).prefix_length} == kCiscoRegistrationPrefix);
  spec.prefix_length = 0xFF;
  CHECK(unsigned{build_registration_request(spec).cies.at(0).prefix_length} == 0xFF);

  auto frr = spec_91(Dialect::Frr);
  frr.unique = false;
  const Packet p = build_registration_request(frr);
  CHECK(p.flags == flags::kCiscoNat);  // `no-unique`: 0x0002
  CHECK(unsigned{p.cies.at(0).prefix_length} == 32);
  CHECK(unsigned{p.hop_count} == kFrrRegistrationHopCount);
}

TEST_CASE("build_resolution_reply: flags by dialect, request fields and extension order kept") {
  const Packet request = decode_ok(k95);
  Cie answer;
  answer.prefix_length = 24;
  answer.holding_time = 7200;
  answer.nbma = ip("198.51.100.3");
  answer.protocol = ip("10.0.0.3");
  ReplySpec spec;
  spec.responder = answer;
  spec.responder.prefix_length = 0;

  SUBCASE("FRR: Q and S copied, A and D added (0xE800), hop 64") {
    spec.sender = make_sender("198.51.100.3", "10.0.0.3", Dialect::Frr);
    const Packet reply = build_resolution_reply(request, {&answer, 1}, spec);
    CHECK(reply.type == PacketType::ResolutionReply);
    CHECK(reply.flags == 0xE800);
    CHECK(unsigned{reply.hop_count} == kFrrHopCount);
    CHECK(reply.request_id == request.request_id);
    CHECK(reply.src_nbma == request.src_nbma);
    CHECK(reply.src_protocol == request.src_protocol);
    CHECK(reply.dst_protocol == request.dst_protocol);
    REQUIRE(reply.cies.size() == 1);
    CHECK(reply.cies[0] == answer);
    CHECK(extension_types(reply) == extension_types(request));
    const Extension* responder = reply.find_extension(ExtensionType::ResponderAddress);
    REQUIRE(responder != nullptr);
    REQUIRE(responder->cies.size() == 1);
    CHECK(responder->cies[0] == spec.responder);
    const auto encoded = encode(reply);
    REQUIRE(encoded.ok());
    CHECK(same_packet(decode_ok(*encoded), reply));
  }
  SUBCASE("Cisco: Q|A|D|U|S|NAT (0xF802), hop 255") {
    spec.sender = make_sender("198.51.100.3", "10.0.0.3", Dialect::Cisco);
    const Packet reply = build_resolution_reply(request, {&answer, 1}, spec);
    CHECK(reply.flags == 0xF802);
    CHECK(unsigned{reply.hop_count} == kCiscoHopCount);
  }
}

TEST_CASE("build_purge_request and build_purge_reply") {
  PurgeRequestSpec spec;
  spec.sender = make_sender("198.51.100.2", "10.0.0.2", Dialect::Cisco);
  spec.dst_protocol = ip("10.0.0.1");
  spec.request_id = 9;
  spec.no_reply = true;
  Cie binding;
  binding.prefix_length = 0xFF;
  binding.protocol = ip("10.0.0.2");
  spec.cies = {binding};
  const Packet request = build_purge_request(spec);
  CHECK(request.type == PacketType::PurgeRequest);
  CHECK((request.flags & flags::kPurgeN) != 0);
  CHECK(request.request_id == 9);
  CHECK(request.src_nbma == ip("198.51.100.2"));
  CHECK(request.src_protocol == ip("10.0.0.2"));
  CHECK(request.dst_protocol == ip("10.0.0.1"));
  REQUIRE(request.cies.size() == 1);
  CHECK(request.cies[0] == binding);
  CHECK(request.hop_count != 0);
  const auto encoded = encode(request);
  REQUIRE(encoded.ok());
  CHECK(same_packet(decode_ok(*encoded), request));

  spec.no_reply = false;
  CHECK((build_purge_request(spec).flags & flags::kPurgeN) == 0);

  const Packet reply = build_purge_reply(request, make_sender("203.0.113.1", "10.0.0.1", Dialect::Cisco));
  CHECK(reply.type == PacketType::PurgeReply);
  CHECK(reply.request_id == 9);
  CHECK(reply.src_protocol == request.src_protocol);
  CHECK(reply.dst_protocol == request.dst_protocol);
  CHECK(reply.cies == request.cies);
  CHECK(reply.hop_count != 0);
}

TEST_CASE("build_error_indication quotes the offending packet, adds no extensions") {
  const Bytes offending = bytes(k95);
  ErrorIndicationSpec spec;
  spec.sender = make_sender("203.0.113.1", "10.0.0.1", Dialect::Cisco, "secret");
  spec.code = ErrorCode::HopCountExceeded;
  spec.offset = 9;
  spec.offending = offending;
  spec.offending_source = ip("10.0.0.2");
  const Packet p = build_error_indication(spec);
  CHECK(p.type == PacketType::ErrorIndication);
  CHECK(p.error_code == ErrorCode::HopCountExceeded);
  CHECK(p.error_offset == 9);
  CHECK(p.dst_protocol == ip("10.0.0.2"));
  CHECK(p.src_nbma == ip("203.0.113.1"));
  CHECK(p.extensions.empty());  // RFC 2332 5.2.7, even with a password
  CHECK(hex_of(p.payload) == hex_of(offending));
  CHECK(unsigned{p.hop_count} == kCiscoHopCount);
  const auto encoded = encode(p);
  REQUIRE(encoded.ok());
  CHECK(get_u16(*encoded, 14) == 0);  // ar$extoff
  const Packet back = decode_ok(*encoded);
  CHECK(same_packet(back, p));

  spec.sender.dialect = Dialect::Frr;
  CHECK(unsigned{build_error_indication(spec).hop_count} == 0);  // NHRP-WIRE.md 8.5
}

TEST_CASE("build_traffic_indication: extensions by dialect, refuses a non-IP inner packet") {
  TrafficIndicationSpec spec;
  const Bytes inner = payload_of(k94);
  spec.inner_packet = inner;
  spec.sender = make_sender("203.0.113.1", "10.0.0.1", Dialect::Cisco);
  auto cisco = build_traffic_indication(spec);
  REQUIRE(cisco.ok());
  CHECK(extension_types(*cisco) == std::vector<std::uint16_t>{0x8004, 0x8005, 0x0009, 0x8000});
  CHECK(unsigned{cisco->hop_count} == kCiscoHopCount);
  CHECK(cisco->dst_protocol == ip("192.168.2.10"));

  spec.sender = make_sender("203.0.113.1", "10.0.0.1", Dialect::Frr, "pw");
  auto frr = build_traffic_indication(spec);
  REQUIRE(frr.ok());
  CHECK(extension_types(*frr) == std::vector<std::uint16_t>{0x8007, 0x8000});
  CHECK(check_cisco_auth(*frr, "pw") == AuthCheck::Ok);

  const Bytes short_inner(inner.begin(), inner.begin() + 10);
  spec.inner_packet = short_inner;
  CHECK_FALSE(build_traffic_indication(spec).ok());
}

TEST_CASE("Cisco-dialect builders never send hop count 0 (NHRP-WIRE.md 8.5)") {
  const auto cisco = make_sender("198.51.100.2", "10.0.0.2", Dialect::Cisco);
  RegistrationRequestSpec reg = spec_91(Dialect::Cisco);
  CHECK(unsigned{build_registration_request(reg).hop_count} == 255);
  ResolutionRequestSpec res;
  res.sender = cisco;
  res.target = ip("192.168.3.20");
  const Packet rr = build_resolution_request(res);
  CHECK(unsigned{rr.hop_count} == 255);
  CHECK(rr.flags == 0xC802);
  CHECK(unsigned{rr.cies.at(0).prefix_length} == 0);  // Cisco Resolution Request pl 0
  CHECK(extension_types(rr) == std::vector<std::uint16_t>{0x8003, 0x8004, 0x8005, 0x0009, 0x8000});
}

}  // namespace
