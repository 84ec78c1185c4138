// Hostile and broken input (RFC 2332 5.2.7; NHRP-WIRE.md 2, 6, 7.1):
// malformed packets counted by reason, Error Indications rate-limited and
// never about another Error Indication, bounded state, configured limits.
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using nhrp::ErrorCode;
using nhrp::PacketType;

void put_u8(Bytes& b, std::size_t at, std::uint8_t v) { b.at(at) = std::byte{v}; }
void put_u16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = std::byte{static_cast<std::uint8_t>(v >> 8)};
  b.at(at + 1) = std::byte{static_cast<std::uint8_t>(v)};
}
// Recomputes ar$chksum so that only the intended defect remains.
void reseal(Bytes& b) {
  put_u16(b, 12, 0);
  put_u16(b, 12, nhrp::internet_checksum(b));
}

Bytes valid_registration() { return encode_ok(nhrp::build_registration_request(registration(kSpokeA, 1))); }

TEST_CASE("robustness: malformed packets are counted by reason; Error Indication when the RFC asks for one") {
  struct Case {
    std::string name;
    Bytes bytes;
    std::string reason;
    ErrorCode indication;
  };
  std::vector<Case> cases;
  {
    Bytes b = valid_registration();
    put_u8(b, 16, 2);  // ar$op.version
    reseal(b);
    cases.push_back({"version 2", b, "malformed: unsupported version", ErrorCode::ProtocolError});
  }
  {
    Bytes b = valid_registration();
    put_u8(b, 40, static_cast<std::uint8_t>(std::to_integer<unsigned>(b.at(40)) ^ 0x01U));
    cases.push_back({"checksum", b, "malformed: checksum mismatch", ErrorCode::None});
  }
  {
    Bytes b = valid_registration();
    b.resize(10);
    cases.push_back({"fixed header cut", b, "malformed: truncated", ErrorCode::None});
  }
  {
    Bytes b = valid_registration();
    put_u16(b, 10, static_cast<std::uint16_t>(b.size() + 8));  // ar$pktsz past the data
    reseal(b);
    cases.push_back({"pktsz", b, "malformed: packet size exceeds data", ErrorCode::ProtocolError});
  }
  {
    Bytes b = valid_registration();
    const std::size_t extoff = (std::to_integer<std::size_t>(b.at(14)) << 8) | std::to_integer<std::size_t>(b.at(15));
    put_u16(b, extoff + 2, 0x0400);  // first extension claims 1024 bytes
    reseal(b);
    cases.push_back({"extension length", b, "malformed: bad extension", ErrorCode::InvalidExtension});
  }
  for (const Case& c : cases) {
    CAPTURE(c.name);
    HubFixture f;
    f.receive_bytes(kSpokeA.outer, c.bytes);
    f.end_batch();
    CHECK(f.hub->stats().error_count(c.reason) == 1);
    CHECK(f.hub->stats().errors.size() == 1);
    CHECK(f.hub->cache().size() == 0);
    CHECK(f.store.commit_attempts() == 0);
    if (c.indication == ErrorCode::None) {
      CHECK(f.transport.sent.empty());
    } else {
      REQUIRE(f.transport.sent.size() == 1);
      CHECK(f.transport.sent[0].destination == kSpokeA.outer);
      const nhrp::Packet ei = f.take_one();
      CHECK(ei.type == PacketType::ErrorIndication);
      CHECK(ei.error_code == c.indication);
      CHECK(ei.src_nbma == kHubNbma);
      CHECK(ei.extensions.empty());
      CHECK(ei.payload == c.bytes);
    }
  }
}

TEST_CASE("robustness: a flood of 1000 malformed packets from one source sends a handful of indications") {
  HubFixture f;
  Bytes b = valid_registration();
  put_u8(b, 16, 9);
  reseal(b);
  for (int i = 0; i < 1000; ++i) f.receive_bytes(kSpokeA.outer, b);
  f.end_batch();
  CHECK(f.transport.sent.size() >= 1);
  CHECK(f.transport.sent.size() <= 5);
  CHECK(f.hub->stats().error_count("malformed: unsupported version") == 1000);
  CHECK(f.hub->stats().error_count("error indication rate limited") + f.transport.sent.size() == 1000);
  CHECK(f.hub->stats().errors.size() == 2);  // reasons, not packets or sources
  CHECK(f.hub->cache().size() == 0);
  CHECK(f.store.commit_attempts() == 0);
  CHECK(f.store.staged() == 0);

  // The limit is per source: another source is answered at once ...
  f.transport.sent.clear();
  f.receive_bytes(kSpokeB.outer, b);
  CHECK(f.transport.sent.size() == 1);
  // ... and the flooding one again once its bucket refills.
  f.transport.sent.clear();
  f.loop.advance(1s);
  f.receive_bytes(kSpokeA.outer, b);
  f.receive_bytes(kSpokeA.outer, b);
  CHECK(f.transport.sent.size() == 1);
}

TEST_CASE("robustness: an auth failure flood does not turn into one log line per packet") {
  NhsConfig config = hub_config();
  config.auth_password = "secret";
  HubFixture f(config);
  const Bytes bytes = valid_registration();
  for (int i = 0; i < 1000; ++i) f.receive_bytes(kSpokeA.outer, bytes);
  // log.h: the default level has no per-packet lines; a flood must not fill the log.
  CHECK(f.logs.lines.size() <= 10);
}

TEST_CASE("robustness: a malformed Error Indication is never answered with an Error Indication") {
  HubFixture f;
  nhrp::ErrorIndicationSpec spec;
  spec.sender = kSpokeA.sender();
  spec.code = ErrorCode::ProtocolError;
  const Bytes offending = valid_registration();
  spec.offending = offending;
  spec.offending_source = kHubProtocol;
  Bytes b = encode_ok(nhrp::build_error_indication(spec));
  REQUIRE(std::to_integer<unsigned>(b.at(17)) == 7);

  SUBCASE("pktsz past the data") { put_u16(b, 10, static_cast<std::uint16_t>(b.size() + 4)); }
  SUBCASE("version") { put_u8(b, 16, 3); }
  SUBCASE("source NBMA length") { put_u8(b, 18, 7); }
  reseal(b);
  f.receive_bytes(kSpokeA.outer, b);
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->stats().errors.size() == 1);
}

TEST_CASE("robustness: a well-formed Error Indication is counted and not answered") {
  HubFixture f;
  nhrp::ErrorIndicationSpec spec;
  spec.sender = kSpokeA.sender();
  spec.code = ErrorCode::HopCountExceeded;
  const Bytes offending = valid_registration();
  spec.offending = offending;
  f.receive(kSpokeA, nhrp::build_error_indication(spec));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->stats().received[7] == 1);
  CHECK(f.hub->stats().sent[7] == 0);
}

TEST_CASE("robustness: an unknown compulsory extension is refused with Error Indication 1 (7.1)") {
  HubFixture f;
  nhrp::Packet request = nhrp::build_registration_request(registration(kSpokeA, 1));
  nhrp::Extension unknown;
  unknown.raw_type = 0x8033;
  unknown.value = {std::byte{0xab}, std::byte{0xcd}};
  request.extensions.insert(request.extensions.end() - 1, unknown);
  const Bytes bytes = encode_ok(request);
  f.receive_bytes(kSpokeA.outer, bytes);
  f.end_batch();
  const nhrp::Packet ei = f.take_one();
  CHECK(ei.type == PacketType::ErrorIndication);
  CHECK(ei.error_code == ErrorCode::UnrecognizedExtension);
  CHECK(ei.payload == bytes);
  CHECK(f.hub->cache().size() == 0);

  SUBCASE("without the compulsory bit it is ignored") {
    request.extensions[request.extensions.size() - 2].raw_type = 0x0033;
    f.receive(kSpokeA, request);
    f.end_batch();
    CHECK(f.take_one().cies.at(0).code == CieCode::Success);
  }
}

TEST_CASE("robustness: packets a hub does not expect are counted, not answered") {
  HubFixture f;
  const nhrp::Packet request = nhrp::build_registration_request(registration(kSpokeA, 1));
  nhrp::ReplySpec spec;
  spec.sender = kSpokeA.sender();
  f.receive(kSpokeA, nhrp::build_registration_reply(request, request.cies, spec));
  const Bytes inner(28, std::byte{0x45});
  auto indication = nhrp::build_traffic_indication({kSpokeA.sender(), inner});
  REQUIRE(indication.ok());
  f.receive(kSpokeA, *indication);
  f.transport.deliver(kSpokeA.outer, inner, nhrp::kGreProtocolIpv4);  // a data packet
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->stats().error_count("unexpected " + std::string(nhrp::to_string(PacketType::RegistrationReply))) == 1);
  CHECK(f.hub->stats().error_count("unexpected " + std::string(nhrp::to_string(PacketType::TrafficIndication))) == 1);
  CHECK(f.hub->stats().data_frames_ignored == 1);
}

TEST_CASE("limits: max_registrations refuses new bindings with code 5 and counts them") {
  NhsConfig config = hub_config();
  config.max_registrations = 2;
  HubFixture f(config);
  f.register_spoke(kSpokeA);
  f.register_spoke(kSpokeB);
  const nhrp::Packet refused = f.register_spoke(kSpokeC);
  CHECK(refused.cies.at(0).code == CieCode::InsufficientResources);
  CHECK(refused.cies.at(0).holding_time == 0);
  CHECK(f.hub->cache().size() == 2);
  CHECK(f.store.bindings().size() == 2);
  CHECK(f.hub->stats().error_count("registration capacity") == 1);
  CHECK(f.audit_count(db::AuditKind::Refused) == 1);
  // A refresh at capacity is still accepted.
  CHECK(f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
}

TEST_CASE("limits: refreshes in the same batch do not count twice against max_registrations") {
  NhsConfig config = hub_config();
  config.max_registrations = 2;
  HubFixture f(config);
  f.register_spoke(kSpokeA);
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 2)));  // refresh
  f.receive(kSpokeB, nhrp::build_registration_request(registration(kSpokeB, 3)));  // 2nd binding of 2
  f.end_batch();
  const auto replies = f.take_sent();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].cies.at(0).code == CieCode::Success);
  CHECK(replies[1].cies.at(0).code == CieCode::Success);
  CHECK(f.hub->cache().size() == 2);
}

TEST_CASE("limits: the per-NBMA registration rate answers code 5 without writing an audit") {
  NhsConfig config = hub_config();
  config.registration_rate = {0.01, 3.0};
  HubFixture f(config);
  for (int i = 0; i < 3; ++i) CHECK(f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
  const std::size_t commits = f.store.commit_attempts();
  const std::size_t events = f.audit().size();

  const nhrp::Packet limited = f.register_spoke(kSpokeA);
  CHECK(limited.cies.at(0).code == CieCode::InsufficientResources);
  CHECK(limited.cies.at(0).holding_time == 0);
  CHECK(f.hub->stats().error_count("registration rate limited") == 1);
  CHECK(f.audit().size() == events);
  CHECK(f.store.commit_attempts() == commits);
  // Per source: another spoke is not affected.
  CHECK(f.register_spoke(kSpokeB).cies.at(0).code == CieCode::Success);
  // And the bucket refills (0.01/s: one token after 100 s).
  f.loop.advance(100s);
  CHECK(f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
}

TEST_CASE("robustness: a send failure is counted, not fatal") {
  HubFixture f;
  f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 1)));
  f.transport.fail_sends = true;
  f.end_batch();
  CHECK(f.hub->stats().error_count("send failed") == 1);
  CHECK(f.hub->stats().sent[4] == 0);
  CHECK(f.cached(kSpokeA) != nullptr);  // committed all the same; the spoke will retry
}

}  // namespace
}  // namespace advpnd::hub::testing
