// What a long-running hub must get right over time (issue #10 item 7, hub
// parts): expiry that an NTP step cannot trigger, a capacity count that an
// operator's clear does not leave stale, and encode failures that cannot
// turn into one log line per packet.
#include <array>
#include <span>

#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;
using namespace std::chrono_literals;

Spoke numbered_spoke(std::uint8_t i) {
  return station(IpAddress::v4(198, 51, 100, static_cast<std::uint8_t>(100 + i)),
                 IpAddress::v4(10, 0, 0, static_cast<std::uint8_t>(100 + i)),
                 IpAddress::v4(198, 51, 100, static_cast<std::uint8_t>(100 + i)));
}

}  // namespace

TEST_CASE("expiry: an NTP step forward of the wall clock expires nothing; monotonic time does") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  f.register_spoke(kSpokeB, 7200);
  f.loop.step_wall_clock(std::chrono::hours(5));  // the wall clock jumps, monotonic time does not
  f.loop.advance(f.config.sweep_interval + 1s);   // a sweep runs
  CHECK(f.hub->cache().size() == 2);
  CHECK(f.audit_count(db::AuditKind::Expired) == 0);
  f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 1)));
  nhrp::Packet reply = f.take_one();
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::Success);
  CHECK(reply.cies[0].holding_time >= 600 - 60);  // what remains by monotonic time

  // The holding time still runs out by monotonic time.
  f.loop.advance(600s);
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.cached(kSpokeB) != nullptr);
  CHECK(f.audit_count(db::AuditKind::Expired) == 1);
}

TEST_CASE("expiry: an NTP step backward does not keep a binding past its holding time") {
  HubFixture f;
  f.register_spoke(kSpokeA, 600);
  f.loop.step_wall_clock(-std::chrono::hours(5));
  f.loop.advance(600s + f.config.sweep_interval + 1s);
  CHECK(f.cached(kSpokeA) == nullptr);
  CHECK(f.audit_count(db::AuditKind::Expired) == 1);
}

TEST_CASE("capacity: after clear_registration the next batch still stops at max_registrations") {
  NhsConfig config = hub_config();
  config.max_registrations = 3;
  HubFixture f(config);
  f.register_spoke(kSpokeA, 600, false);
  const Spoke second = station(IpAddress::v4(198, 51, 100, 9), kSpokeA.protocol, IpAddress::v4(198, 51, 100, 9));
  f.register_spoke(second, 600, false);
  f.register_spoke(kSpokeB, 600);
  REQUIRE(f.hub->cache().size() == 3);
  const auto cleared = f.hub->clear_registration(kSpokeA.protocol);
  REQUIRE(cleared.ok());
  REQUIRE(*cleared == 2);
  REQUIRE(f.hub->cache().size() == 1);

  // Four new spokes in one batch: room for two.
  for (std::uint8_t i = 0; i < 4; ++i) {
    f.receive(numbered_spoke(i), nhrp::build_registration_request(registration(numbered_spoke(i), 200U + i, 600)));
  }
  f.end_batch();
  std::size_t accepted = 0;
  for (const nhrp::Packet& reply : f.take_sent()) {
    if (reply.cies.at(0).code == CieCode::Success) ++accepted;
  }
  CHECK(accepted == 2);
  CHECK(f.hub->cache().size() == 3);
  CHECK(f.store.bindings().size() == 3);
}

TEST_CASE("robustness: replies that cannot be encoded are counted, and logged a bounded number of times") {
  HubFixture f;
  // A spoke with an IPv6 NBMA address registering with an IPv4 hub: the
  // reply (an IPv6 ar$afn) would carry the hub's IPv4 NBMA address in its
  // Responder Address CIE, which the encoder refuses.
  constexpr int kSources = 200;  // one registration each (the rate limit is per source)
  for (int i = 0; i < kSources; ++i) {
    const auto n = static_cast<std::uint8_t>(i);
    std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
    v6[15] = n;
    const Spoke spoke = station(*IpAddress::from_bytes(std::as_bytes(std::span(v6))), IpAddress::v4(10, 0, 2, n),
                                IpAddress::v4(203, 0, 113, n));
    nhrp::RegistrationRequestSpec spec = registration(spoke, 300U + n, 600);
    spec.nhs_nbma = IpAddress{};  // the hub's IPv4 address has no place in an IPv6 request
    f.receive(spoke, nhrp::build_registration_request(spec));
  }
  f.end_batch();
  CHECK(f.transport.sent.empty());
  std::uint64_t encode_failures = 0;
  for (const auto& [reason, count] : f.hub->stats().errors) {
    if (reason.rfind("encode", 0) == 0) encode_failures += count;
  }
  CHECK(encode_failures == kSources);
  CHECK(f.logs.count(log::Level::Error, "cannot encode") <= 2);
}

}  // namespace advpnd::hub::testing
