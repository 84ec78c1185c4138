// Cisco cleartext authentication (NHRP-WIRE.md 7.5) on the real daemon: with
// `[authentication] password = "secret"`, a registration without the
// extension or with the wrong password gets an Error Indication code 11
// (RFC 2332 5.2.7, Authentication Failure) and no binding; the right one
// registers, and the reply carries the hub's password.
#include "nhrp/auth.h"

#include <doctest/doctest.h>

#include <chrono>

#include "tests/hub_system/db_rows.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;
using nhrp::CieCode;
using nhrp::ErrorCode;
using nhrp::PacketType;

SimSpoke spoke(std::uint8_t n, std::optional<std::string> password) {
  return SimSpoke{IpAddress::v4(127, 0, 5, n), IpAddress::v4(127, 0, 5, n), IpAddress::v4(10, 0, 5, n),
                  n % 2 == 0 ? nhrp::Dialect::Frr : nhrp::Dialect::Cisco, std::move(password)};
}

// Sends a registration that must be refused: an Error Indication code 11
// comes back, and no Registration Reply.
void check_refused(SpokeWire& wire, const SimSpoke& refused, std::uint32_t id) {
  wire.send(refused.source, registration_request(refused, id));
  auto indication = wire.wait_for(
      [&](const HubPacket& p) {
        return p.destination == refused.source && p.packet.type == PacketType::ErrorIndication;
      },
      kReplyTimeout);
  REQUIRE_MESSAGE(indication.has_value(), "no Error Indication");
  CHECK(indication->packet.error_code == ErrorCode::AuthenticationFailure);
  CHECK(indication->packet.src_nbma == kHubNbma);
  CHECK_FALSE(wire.wait_for(reply_to(refused, PacketType::RegistrationReply, id), 200ms).has_value());
}

}  // namespace

TEST_CASE("hub system: with a password, a registration without it or with the wrong one gets Error 11") {
  enter_test_netns();
  HubSettings settings;
  settings.password = "secret";
  HubProcess hub(settings);
  hub.start();
  SpokeWire wire;

  check_refused(wire, spoke(1, std::nullopt), 1);  // Cisco dialect, no extension
  check_refused(wire, spoke(2, "wrong"), 2);       // FRR dialect, wrong password
  check_refused(wire, spoke(3, "secre"), 3);       // a prefix of it
  check_refused(wire, spoke(4, "secret1"), 4);     // longer
  CHECK(hub.registrations()["count"].as_int() == 0);
  CHECK(read_db_bindings(hub.database_path()).empty());

  for (std::uint8_t n : {5, 6}) {  // both dialects
    const SimSpoke good = spoke(n, "secret");
    auto reply = exchange(wire, good, registration_request(good, n), PacketType::RegistrationReply);
    REQUIRE(reply.has_value());
    REQUIRE(reply->cies.size() == 1);
    CHECK(reply->cies[0].code == CieCode::Success);
    CHECK(nhrp::check_cisco_auth(*reply, "secret") == nhrp::AuthCheck::Ok);
  }
  const JsonValue json = hub.registrations();
  CHECK(json["count"].as_int() == 2);
  CHECK(find_registration(json, spoke(5, std::nullopt).protocol) != nullptr);
  CHECK(find_registration(json, spoke(1, std::nullopt).protocol) == nullptr);

  // A resolution without the password is refused the same way.
  const SimSpoke intruder = spoke(7, std::nullopt);
  wire.send(intruder.source, resolution_request(intruder, spoke(5, std::nullopt).protocol, 70));
  auto indication = wire.wait_for([&](const HubPacket& p) { return p.destination == intruder.source; }, kReplyTimeout);
  REQUIRE(indication.has_value());
  CHECK(indication->packet.type == PacketType::ErrorIndication);
  CHECK(indication->packet.error_code == ErrorCode::AuthenticationFailure);
}

}  // namespace advpnd::test
