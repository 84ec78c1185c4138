// Cisco cleartext authentication (RFC 2332 5.3.4; NHRP-WIRE.md 7.5): with a
// password configured every received packet must carry the extension with
// that value; a failure is answered with Error Indication 11 and dropped.
#include "nhrp/auth.h"
#include "tests/hub/hub_fixture.h"
#include "tests/support/test_data.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using nhrp::PacketType;

constexpr std::string_view kPassword = "secret";

NhsConfig with_password() {
  NhsConfig config = hub_config();
  config.auth_password = std::string(kPassword);
  return config;
}

// `reported` is the Error Indication's destination protocol address: the
// offending request's source, or a reply's destination (NHRP-WIRE.md 6).
void check_auth_failure(HubFixture& f, const Bytes& offending, const Spoke& from,
                        std::optional<IpAddress> reported = std::nullopt) {
  REQUIRE(f.transport.sent.size() == 1);
  CHECK(f.transport.sent[0].destination == from.outer);
  const nhrp::Packet ei = f.take_one();
  CHECK(ei.type == PacketType::ErrorIndication);
  CHECK(ei.error_code == nhrp::ErrorCode::AuthenticationFailure);
  CHECK(ei.src_nbma == kHubNbma);
  CHECK(ei.dst_protocol == reported.value_or(from.protocol));
  CHECK(ei.payload == offending);
  CHECK(ei.extensions.empty());  // no Authentication extension in an Error Indication (5.2.7)
}

TEST_CASE("auth: a registration without or with a wrong password gets Error Indication 11 and is dropped") {
  for (const bool missing : {true, false}) {
    CAPTURE(missing);
    HubFixture f(with_password());
    const Spoke spoke = missing ? kSpokeA : kSpokeA.with_password("wrong");
    const Bytes bytes = encode_ok(nhrp::build_registration_request(registration(spoke, 1)));
    f.receive_bytes(spoke.outer, bytes);
    check_auth_failure(f, bytes, spoke);

    f.end_batch();
    CHECK(f.transport.sent.empty());  // no Registration Reply
    CHECK(f.hub->cache().size() == 0);
    CHECK(f.store.commit_attempts() == 0);
    CHECK(f.hub->stats().error_count(missing ? "authentication missing" : "authentication mismatch") == 1);
    CHECK(f.logs.count(log::Level::Warning, "authentication") == 1);
  }
}

TEST_CASE("auth: a password of another length does not match (length included, 7.5)") {
  HubFixture f(with_password());
  const Spoke spoke = kSpokeA.with_password("secret1");
  const Bytes bytes = encode_ok(nhrp::build_registration_request(registration(spoke, 1)));
  f.receive_bytes(spoke.outer, bytes);
  f.end_batch();
  check_auth_failure(f, bytes, spoke);
}

TEST_CASE("auth: the right password is accepted in both dialects") {
  for (const nhrp::Dialect dialect : {nhrp::Dialect::Cisco, nhrp::Dialect::Frr}) {
    HubFixture f(with_password());
    const Spoke spoke = kSpokeA.with_password(std::string(kPassword)).with_dialect(dialect);
    const nhrp::Packet reply = f.register_spoke(spoke);
    CHECK(reply.type == PacketType::RegistrationReply);
    CHECK(reply.cies.at(0).code == CieCode::Success);
    CHECK(nhrp::check_cisco_auth(reply, kPassword) == nhrp::AuthCheck::Ok);
    CHECK(f.hub->cache().size() == 1);
    CHECK(f.hub->stats().errors.empty());
  }
}

TEST_CASE("auth: a resolution request with a wrong password is not answered") {
  HubFixture f(with_password());
  f.register_spoke(kSpokeA.with_password(std::string(kPassword)));
  const Spoke spoke = kSpokeC.with_password("nope");
  const Bytes bytes = encode_ok(nhrp::build_resolution_request(resolution(spoke, kSpokeA.protocol, 2)));
  f.receive_bytes(spoke.outer, bytes);
  check_auth_failure(f, bytes, spoke);
  CHECK(f.hub->stats().sent[2] == 0);
}

TEST_CASE("auth: a purge request with a wrong password removes nothing") {
  HubFixture f(with_password());
  f.register_spoke(kSpokeA.with_password(std::string(kPassword)));
  const Spoke spoke = kSpokeA.with_password("nope");
  nhrp::PurgeRequestSpec spec;
  spec.sender = spoke.sender();
  spec.dst_protocol = kHubProtocol;
  spec.request_id = 3;
  nhrp::Cie cie;
  cie.protocol = kSpokeA.protocol;
  spec.cies.push_back(cie);
  const Bytes bytes = encode_ok(nhrp::build_purge_request(spec));
  f.receive_bytes(spoke.outer, bytes);
  f.end_batch();
  check_auth_failure(f, bytes, spoke);
  CHECK(f.cached(kSpokeA) != nullptr);
  CHECK(f.store.bindings().size() == 1);
}

// 7.5: "When a password is configured, FRR requires the extension on every
// received packet type". A Resolution Reply relayed by the hub gets the hub's
// own, valid Authentication extension (regenerated hop by hop, 7.4), so the
// hub must not relay one that failed the check: it would vouch for it.
TEST_CASE("auth: a resolution reply with a wrong password is not relayed") {
  HubFixture f(with_password());
  f.register_spoke(kSpokeA.with_password(std::string(kPassword)));
  const Spoke forger = kSpokeB.with_password("forged");
  const nhrp::Packet request =
      nhrp::build_resolution_request(resolution(kSpokeA.with_password(std::string(kPassword)), ip("192.168.9.9"), 4));
  nhrp::Cie answer;
  answer.prefix_length = 32;
  answer.holding_time = 600;
  answer.nbma = forger.nbma;
  answer.protocol = ip("192.168.9.9");
  nhrp::ReplySpec spec;
  spec.sender = forger.sender();
  spec.responder = answer;
  const Bytes bytes = encode_ok(nhrp::build_resolution_reply(request, std::span<const nhrp::Cie>(&answer, 1), spec));
  f.receive_bytes(forger.outer, bytes);

  for (const SentFrame& frame : f.transport.sent) CHECK(frame.destination != kSpokeA.outer);
  check_auth_failure(f, bytes, forger, ip("192.168.9.9"));
}

TEST_CASE("auth: a purge reply with a wrong password does not stop the retransmissions") {
  HubFixture f(with_password());
  const Spoke resolver = kSpokeC.with_password(std::string(kPassword));
  f.register_spoke(kSpokeA.with_password(std::string(kPassword)));
  f.receive(resolver, nhrp::build_resolution_request(resolution(resolver, kSpokeA.protocol, 5)));
  (void)f.take_one();
  REQUIRE(f.hub->clear_registration(kSpokeA.protocol).ok());
  const nhrp::Packet purge = f.take_one();
  REQUIRE(purge.type == PacketType::PurgeRequest);

  const Spoke forger = kSpokeB.with_password("forged");
  const Bytes bytes = encode_ok(nhrp::build_purge_reply(purge, forger.sender()));
  f.receive_bytes(forger.outer, bytes);
  check_auth_failure(f, bytes, forger, purge.dst_protocol);

  f.loop.advance(f.config.purge_retry);
  REQUIRE(f.transport.sent.size() == 1);  // the Purge Request goes out again
  CHECK(f.take_one().request_id == purge.request_id);
}

TEST_CASE("auth: an Error Indication is never answered, even when its authentication fails") {
  HubFixture f(with_password());
  nhrp::ErrorIndicationSpec spec;
  spec.sender = kSpokeA.sender();
  spec.code = nhrp::ErrorCode::ProtocolError;
  const Bytes offending = encode_ok(nhrp::build_registration_request(registration(kSpokeA, 6)));
  spec.offending = offending;
  spec.offending_source = kHubProtocol;
  f.receive(kSpokeA, nhrp::build_error_indication(spec));
  f.end_batch();
  CHECK(f.transport.sent.empty());
  CHECK(f.hub->stats().received[7] == 1);
}

// hub/next_hop_server.h: "reconfigure ... SIGHUP: limits, timers, auth and
// redirect rate change". A Traffic Indication is authenticated like every
// other packet the hub sends (NHRP-WIRE.md 5, 7.4: Cisco sends Auth in it).
TEST_CASE("auth: a password changed by reconfigure applies to everything the hub sends") {
  HubFixture f(with_password());
  const Bytes inner = test::hex("45 00 00 54 12 34 40 00 3f 01 a3 06 c0 a8 02 0a c0 a8 03 14 08 00 00 00 00 01 00 01");
  f.hub->redirect().on_hairpin(kSpokeA.outer, inner);
  nhrp::Packet ti = f.take_one();
  CHECK(nhrp::check_cisco_auth(ti, kPassword) == nhrp::AuthCheck::Ok);

  NhsConfig changed = with_password();
  changed.auth_password = "rotated";
  f.hub->reconfigure(changed);

  const nhrp::Packet reply = f.register_spoke(kSpokeA.with_password("rotated"));
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(nhrp::check_cisco_auth(reply, "rotated") == nhrp::AuthCheck::Ok);

  Bytes other_pair = inner;
  other_pair[19] = std::byte{0x15};  // 192.168.3.21: a pair with a fresh token
  f.hub->redirect().on_hairpin(kSpokeA.outer, other_pair);
  ti = f.take_one();
  CHECK(nhrp::check_cisco_auth(ti, "rotated") == nhrp::AuthCheck::Ok);
}

TEST_CASE("auth: failures from one source are answered at a bounded rate") {
  HubFixture f(with_password());
  const Bytes bytes = encode_ok(nhrp::build_registration_request(registration(kSpokeA, 1)));
  for (int i = 0; i < 1000; ++i) f.receive_bytes(kSpokeA.outer, bytes);
  f.end_batch();
  CHECK(f.transport.sent.size() >= 1);
  CHECK(f.transport.sent.size() <= 5);
  CHECK(f.hub->stats().error_count("authentication missing") == 1000);
  CHECK(f.hub->cache().size() == 0);
  CHECK(f.store.commit_attempts() == 0);
}

}  // namespace
}  // namespace advpnd::hub::testing
