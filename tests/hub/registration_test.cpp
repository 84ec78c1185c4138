// Registration Request -> Registration Reply (RFC 2332 5.2.3, 5.2.4;
// NHRP-WIRE.md 3, 7.2, 7.4, 7.6, 8.1, 8.5).
#include "nhrp/auth.h"
#include "tests/hub/hub_fixture.h"
#include "tests/support/test_data.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using nhrp::Dialect;
using nhrp::ExtensionType;
using nhrp::PacketType;

// NHRP-WIRE.md 9.1 (FRR) and 9.2 (Cisco): spoke 198.51.100.2 / 10.0.0.2 ->
// NHS 10.0.0.1 (NBMA 203.0.113.1), hold 600: exactly kSpokeA and our hub.
constexpr std::string_view k91 =
    "00 01 08 00 00 00 00 00 00 01 00 5c de 84 00 34 01 03 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 ff 00 00 00 00 02 58 00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 00"
    "00 09 00 14 00 20 00 00 00 00 00 00 04 00 04 00 cb 00 71 01 0a 00 00 01 80 00 00 00";
constexpr std::string_view k92 =
    "00 01 08 00 00 00 00 00 00 ff 00 5c d3 75 00 34 01 03 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 20 00 00 05 78 02 58 00 00 00 00 80 03 00 00 80 04 00 00 80 05 00 00"
    "00 09 00 14 00 20 00 00 05 78 00 00 04 00 04 00 cb 00 71 01 0a 00 00 01 80 00 00 00";
// 9.3: the FRR NHS's Registration Reply to 9.1 (holdtime 7200, MTU 0).
constexpr std::string_view k93 =
    "00 01 08 00 00 00 00 00 00 40 00 70 73 f9 00 34 01 04 04 00 04 04 80 02 00 00 00 01 c6 33 64 02"
    "0a 00 00 02 0a 00 00 01 00 ff 00 00 00 00 02 58 00 00 00 00 80 04 00 00 80 05 00 00 80 03 00 14"
    "00 00 00 00 00 00 1c 20 04 00 04 00 cb 00 71 01 0a 00 00 01 00 09 00 14 00 20 00 00 00 00 00 00"
    "04 00 04 00 cb 00 71 01 0a 00 00 01 80 00 00 00";

const nhrp::Cie& responder_cie(const nhrp::Packet& reply) {
  const nhrp::Extension* responder = reply.find_extension(ExtensionType::ResponderAddress);
  REQUIRE(responder != nullptr);
  REQUIRE(responder->cies.size() == 1);
  return responder->cies.front();
}

TEST_CASE("registration: the reply goes out only after the batch has committed") {
  HubFixture f;
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 7)));
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->cache().size() == 0);
  CHECK(f.store.bindings().empty());
  CHECK(f.store.commit_attempts() == 0);

  f.end_batch();
  CHECK(f.store.commit_attempts() == 1);
  CHECK(f.hub->stats().commits == 1);
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == kSpokeA.outer);
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.type == PacketType::RegistrationReply);
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::Success);
  CHECK(reply.cies[0].holding_time == 7200);

  const db::Binding* cached = f.cached(kSpokeA);
  REQUIRE(cached != nullptr);
  CHECK(cached->expires_at == f.loop.unix_seconds() + 7200);
  CHECK(cached->unique);
  CHECK(cached->mtu == 1400);
  CHECK(cached->request_id == 7);
  CHECK(f.store.bindings().size() == 1);
  CHECK(f.store.bindings().begin()->second == *cached);
  CHECK(f.audit_count(db::AuditKind::Registered) == 1);
  CHECK(f.hub->stats().received[3] == 1);
  CHECK(f.hub->stats().sent[4] == 1);
}

TEST_CASE("registration: an FRR-dialect hub answers NHRP-WIRE.md 9.1 with exactly 9.3") {
  NhsConfig config = hub_config(Dialect::Frr);
  config.mtu = 0;
  HubFixture f(config);
  f.receive_bytes(kSpokeA.outer, test::hex(k91));
  f.end_batch();
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(test::to_hex(f.transport.sent[0].bytes) == test::to_hex(test::hex(k93)));
  CHECK(f.transport.sent[0].tos == 0xC0);
  CHECK(f.transport.sent[0].gre_protocol == nhrp::kGreProtocolNhrp);
}

TEST_CASE("registration: the reply keeps the request's fields and extension order (both dialects)") {
  using Vector = std::pair<std::string_view, std::string_view>;
  for (const Vector& vector : {Vector{"9.1 FRR", k91}, Vector{"9.2 Cisco", k92}}) {
    const std::string name(vector.first);
    CAPTURE(name);
    HubFixture f;
    const Bytes request_bytes = test::hex(vector.second);
    const nhrp::Packet request = decode_ok(request_bytes);
    f.receive_bytes(kSpokeA.outer, request_bytes);
    f.end_batch();
    const nhrp::Packet reply = f.take_one();

    CHECK(reply.type == PacketType::RegistrationReply);
    CHECK(reply.request_id == request.request_id);
    CHECK(reply.flags == request.flags);
    CHECK(reply.src_nbma == request.src_nbma);
    CHECK(reply.src_protocol == request.src_protocol);
    CHECK(reply.dst_protocol == request.dst_protocol);
    CHECK(reply.hop_count == 255);  // Cisco hub (8.5): 255, never 0, even for FRR's hop-1 request
    // RFC 2332 5.3: extensions present in the request are in the reply, in order.
    CHECK(extension_types(reply) == extension_types(request));

    const nhrp::Cie& responder = responder_cie(reply);
    CHECK(responder.code == CieCode::Success);
    CHECK(responder.nbma == kHubNbma);
    CHECK(responder.protocol == kHubProtocol);
    CHECK(responder.mtu == 1400);
    CHECK(responder.holding_time == 7200);

    REQUIRE(reply.cies.size() == 1);
    CHECK(reply.cies[0].code == CieCode::Success);
    CHECK(reply.cies[0].holding_time == 600);
    CHECK(reply.cies[0].prefix_length == request.cies[0].prefix_length);
    // Not NATted: the NAT extension is copied as it came, with no second CIE.
    const nhrp::Extension* nat = reply.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE(nat != nullptr);
    CHECK(nat->cies == request.find_extension(ExtensionType::CiscoNatAddress)->cies);

    // Prefix 0xFF (FRR) and 32 (Cisco) are both a host binding.
    const db::Binding* cached = f.cached(kSpokeA, 32);
    REQUIRE(cached != nullptr);
    CHECK(cached->holding_time_s == 600);
    CHECK(cached->post_nat_nbma == kSpokeA.nbma);
  }
}

TEST_CASE("registration: hop count of the reply by hub dialect is never 0") {
  for (const Dialect hub_dialect : {Dialect::Cisco, Dialect::Frr}) {
    for (const Dialect spoke_dialect : {Dialect::Cisco, Dialect::Frr}) {
      CAPTURE(static_cast<int>(hub_dialect));
      CAPTURE(static_cast<int>(spoke_dialect));
      HubFixture f(hub_config(hub_dialect));
      const nhrp::Packet reply = f.register_spoke(kSpokeA.with_dialect(spoke_dialect));
      CHECK(reply.hop_count == (hub_dialect == Dialect::Cisco ? 255 : 64));
      CHECK(reply.hop_count != 0);
      CHECK(reply.cies.at(0).code == CieCode::Success);
    }
  }
}

TEST_CASE("registration: the holding time is bounded by max_holding_time, default when the CIE says 0") {
  NhsConfig config = hub_config();
  config.max_holding_time = 3600;
  config.default_holding_time = 1800;
  HubFixture f(config);

  SUBCASE("longer than the maximum") {
    const nhrp::Packet reply = f.register_spoke(kSpokeA, 9000);
    CHECK(reply.cies.at(0).holding_time == 3600);
    CHECK(responder_cie(reply).holding_time == 3600);
    REQUIRE(f.cached(kSpokeA) != nullptr);
    CHECK(f.cached(kSpokeA)->holding_time_s == 3600);
    CHECK(f.cached(kSpokeA)->expires_at == f.loop.unix_seconds() + 3600);
  }
  SUBCASE("shorter than the maximum is kept") {
    const nhrp::Packet reply = f.register_spoke(kSpokeA, 90);
    CHECK(reply.cies.at(0).holding_time == 90);
    REQUIRE(f.cached(kSpokeA) != nullptr);
    CHECK(f.cached(kSpokeA)->expires_at == f.loop.unix_seconds() + 90);
  }
  SUBCASE("0 means the hub's default") {
    const nhrp::Packet reply = f.register_spoke(kSpokeA, 0);
    CHECK(reply.cies.at(0).holding_time == 1800);
    REQUIRE(f.cached(kSpokeA) != nullptr);
    CHECK(f.cached(kSpokeA)->holding_time_s == 1800);
  }
}

TEST_CASE("registration: a default above the maximum is still bounded") {
  NhsConfig config = hub_config();
  config.max_holding_time = 600;
  config.default_holding_time = 7200;
  HubFixture f(config);
  CHECK(f.register_spoke(kSpokeA, 0).cies.at(0).holding_time == 600);
}

TEST_CASE("registration: a NATted spoke gets a second NAT CIE with its post-NAT address (7.6)") {
  for (const Dialect dialect : {Dialect::Cisco, Dialect::Frr}) {
    CAPTURE(static_cast<int>(dialect));
    HubFixture f;
    const Spoke spoke = kNatted.with_dialect(dialect);
    f.receive(spoke, nhrp::build_registration_request(registration(spoke, 3)));
    f.end_batch();
    REQUIRE(f.transport.sent.size() == 1);
    CHECK(f.transport.sent[0].destination == kNatted.outer);  // back through the NAT
    const nhrp::Packet reply = f.take_one();
    CHECK(reply.src_nbma == kNatted.nbma);  // the header keeps the claimed address

    const nhrp::Extension* nat = reply.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE(nat != nullptr);
    REQUIRE(nat->cies.size() == 2);
    CHECK(nat->cies[0].nbma == kHubNbma);  // the request's CIE, copied
    CHECK(nat->cies[0].protocol == kHubProtocol);
    CHECK(nat->cies[1].nbma == kNatted.outer);
    CHECK(nat->cies[1].protocol == kNatted.protocol);
    CHECK(nat->cies[1].prefix_length == 32);
    CHECK(nat->cies[1].holding_time == 0);
    CHECK(nat->cies[1].code == CieCode::Success);

    const db::Binding* cached = f.cached(kNatted);  // keyed by the claimed NBMA
    REQUIRE(cached != nullptr);
    CHECK(cached->post_nat_nbma == kNatted.outer);
    REQUIRE(f.store.bindings().size() == 1);
    CHECK(f.store.bindings().begin()->second.post_nat_nbma == kNatted.outer);
    const auto events = f.audit();
    REQUIRE(events.size() == 1);
    CHECK(events[0].post_nat_nbma == kNatted.outer);
    CHECK(events[0].nbma == kNatted.nbma);
  }
}

TEST_CASE(
    "registration: a refresh from the same NBMA keeps one binding; audited Refreshed only if it changes something") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  const std::int64_t first_expiry = f.cached(kSpokeA)->expires_at;
  f.loop.advance(200s);

  const nhrp::Packet reply = f.register_spoke(kSpokeA, 600);
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(f.hub->cache().size() == 1);
  CHECK(f.store.bindings().size() == 1);
  REQUIRE(f.cached(kSpokeA) != nullptr);
  CHECK(f.cached(kSpokeA)->expires_at == first_expiry + 200);
  CHECK(f.store.bindings().begin()->second.expires_at == first_expiry + 200);
  CHECK(f.audit_count(db::AuditKind::Registered) == 1);
  // Issue #10 item 2: a refresh that changes nothing but the expiry is
  // counted, not audited (the binding row itself was rewritten, above).
  CHECK(f.audit_count(db::AuditKind::Refreshed) == 0);
  CHECK(f.hub->stats().refreshes_unchanged == 1);
  CHECK(f.hub->stats().commits == 2);

  SUBCASE("a re-used request ID is accepted too (Cisco uses ID 1 for every refresh, 8.1)") {
    for (int i = 0; i < 2; ++i) {
      f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1, 600)));
      f.end_batch();
      const nhrp::Packet again = f.take_one();
      CHECK(again.request_id == 1);
      CHECK(again.cies.at(0).code == CieCode::Success);
    }
    CHECK(f.store.bindings().size() == 1);
    CHECK(f.audit_count(db::AuditKind::Refreshed) == 0);
    CHECK(f.hub->stats().refreshes_unchanged == 3);
  }
  SUBCASE("a refresh that changes the terms (holding time) is audited Refreshed") {
    CHECK(f.register_spoke(kSpokeA, 300).cies.at(0).code == CieCode::Success);
    CHECK(f.audit_count(db::AuditKind::Refreshed) == 1);
    CHECK(f.hub->stats().refreshes_unchanged == 1);
    CHECK(f.cached(kSpokeA)->holding_time_s == 300);
  }
}

TEST_CASE("registration: a request addressed to the spoke itself is for this NHS (FRR nhs dynamic, 8.1)") {
  HubFixture f;
  const Spoke spoke = kSpokeA.with_dialect(Dialect::Frr);
  nhrp::RegistrationRequestSpec spec = registration(spoke, 9);
  spec.nhs_protocol = spoke.protocol;
  spec.nhs_nbma = kHubNbma;
  f.receive(spoke, nhrp::build_registration_request(spec));
  f.end_batch();
  CHECK(f.take_one().cies.at(0).code == CieCode::Success);
  CHECK(f.cached(kSpokeA) != nullptr);
}

// NHRP-WIRE.md 3.3: "an FRR NHS writes its own protocol address into the
// Registration Reply's Destination Protocol Address. That is how a spoke
// configured with `nhs dynamic` learns the hub's tunnel address (8.1)";
// FRR's nhrp_reg_reply() takes the NHS address from the reply's dst_proto.
TEST_CASE("registration: an FRR-dialect hub answers nhs dynamic with its own address as destination (3.3)") {
  HubFixture f(hub_config(Dialect::Frr));
  const Spoke spoke = kSpokeA.with_dialect(Dialect::Frr);
  nhrp::RegistrationRequestSpec spec = registration(spoke, 9);
  spec.nhs_protocol = spoke.protocol;  // the NHS's address is not known yet
  f.receive(spoke, nhrp::build_registration_request(spec));
  f.end_batch();
  const nhrp::Packet reply = f.take_one();
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(reply.src_protocol == spoke.protocol);
  CHECK(reply.dst_protocol == kHubProtocol);
}

TEST_CASE("registration: every CIE of a request is answered on its own (RFC 2332 5.2.4)") {
  HubFixture f;
  f.register_spoke(kSpokeB, 600);  // holds 10.0.0.3 uniquely
  nhrp::Packet request = nhrp::build_registration_request(registration(kSpokeA, 12, 600));
  nhrp::Cie lan = request.cies.at(0);
  lan.protocol = ip("192.168.7.0");
  lan.prefix_length = 24;
  nhrp::Cie taken = request.cies.at(0);
  taken.protocol = kSpokeB.protocol;
  request.cies.push_back(lan);
  request.cies.push_back(taken);
  f.receive(kSpokeA, request);
  f.end_batch();
  const nhrp::Packet reply = f.take_one();
  REQUIRE(reply.cies.size() == 3);
  CHECK(reply.cies[0].code == CieCode::Success);
  CHECK(reply.cies[1].code == CieCode::Success);
  CHECK(reply.cies[1].prefix_length == 24);
  CHECK(reply.cies[2].code == CieCode::UniqueAddressRegistered);
  CHECK(reply.cies[2].holding_time == 0);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.hub->cache().find({ip("192.168.7.0"), 24, kSpokeA.nbma}) != nullptr);
  CHECK(f.hub->cache().size() == 3);
  CHECK(f.store.commit_attempts() == 2);
}

TEST_CASE("registration: a NATted spoke whose public address changed keeps one binding, updated") {
  HubFixture f;
  f.register_spoke(kNatted, 600);
  Spoke moved = kNatted;
  moved.outer = ip("198.51.100.21");
  const nhrp::Packet reply = f.register_spoke(moved, 600);
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(f.hub->cache().size() == 1);
  REQUIRE(f.cached(kNatted) != nullptr);
  CHECK(f.cached(kNatted)->post_nat_nbma == moved.outer);
  CHECK(f.store.bindings().begin()->second.post_nat_nbma == moved.outer);
  CHECK(f.audit_count(db::AuditKind::Refreshed) == 1);
}

TEST_CASE("registration: a request for another NHS is dropped, not answered or stored") {
  HubFixture f;
  nhrp::RegistrationRequestSpec spec = registration(kSpokeA, 9);
  spec.nhs_protocol = ip("10.0.0.99");
  f.receive(kSpokeA, nhrp::build_registration_request(spec));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->cache().size() == 0);
  CHECK(f.store.commit_attempts() == 0);
  CHECK(f.hub->stats().error_count("registration not for this NHS") == 1);
}

TEST_CASE("registration: a password-protected reply carries the hub's Authentication extension") {
  NhsConfig config = hub_config();
  config.auth_password = "secret";
  HubFixture f(config);
  const nhrp::Packet reply = f.register_spoke(kSpokeA.with_password("secret"));
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(nhrp::check_cisco_auth(reply, "secret") == nhrp::AuthCheck::Ok);
}

}  // namespace
}  // namespace advpnd::hub::testing
