// Registration, resolution and purge over real sockets (RFC 2332 5.2.1-5.2.6,
// NHRP-WIRE.md 8.1, 8.3, 8.4): three spokes (Cisco, FRR, a NATted Cisco)
// register with the real daemon; the reply, `advpnctl show registrations
// --json` and the SQLite file must all agree.
#include <doctest/doctest.h>

#include "tests/hub_system/db_rows.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using nhrp::CieCode;
using nhrp::Dialect;
using nhrp::ExtensionType;
using nhrp::PacketType;

const SimSpoke kCisco{IpAddress::v4(127, 0, 0, 11), IpAddress::v4(127, 0, 0, 11), IpAddress::v4(10, 0, 0, 11),
                      Dialect::Cisco};
const SimSpoke kFrr{IpAddress::v4(127, 0, 0, 12), IpAddress::v4(127, 0, 0, 12), IpAddress::v4(10, 0, 0, 12),
                    Dialect::Frr};
// Behind a NAT: claims a private NBMA, the hub sees 127.0.0.13.
const SimSpoke kNatted{IpAddress::v4(127, 0, 0, 13), IpAddress::v4(192, 168, 77, 13), IpAddress::v4(10, 0, 0, 13)};

// RFC 2332 5.2.4: code 0, the granted holding time, Responder = the hub.
void check_registration_reply(const nhrp::Packet& reply, const SimSpoke& spoke) {
  CAPTURE(spoke.protocol.to_string());
  REQUIRE(reply.cies.size() == 1);
  CHECK(reply.cies[0].code == CieCode::Success);
  CHECK(reply.cies[0].holding_time == 7200);
  CHECK(reply.src_protocol == spoke.protocol);
  const nhrp::Extension* responder = reply.find_extension(ExtensionType::ResponderAddress);
  REQUIRE(responder != nullptr);
  REQUIRE(responder->cies.size() == 1);
  CHECK(responder->cies[0].nbma == kHubNbma);
  CHECK(responder->cies[0].protocol == kHubProtocol);
}

// The NAT extension of a reply lists `post_nat` for `protocol` (NHRP-WIRE.md 7.6).
bool nat_extension_lists(const nhrp::Packet& reply, const IpAddress& protocol, const IpAddress& post_nat) {
  const nhrp::Extension* nat = reply.find_extension(ExtensionType::CiscoNatAddress);
  if (nat == nullptr) return false;
  for (const nhrp::Cie& cie : nat->cies) {
    if (cie.protocol == protocol && cie.nbma == post_nat) return true;
  }
  return false;
}

nhrp::Packet resolve(SpokeWire& wire, const SimSpoke& from, const IpAddress& target, std::uint32_t id) {
  auto reply = exchange(wire, from, resolution_request(from, target, id), PacketType::ResolutionReply);
  REQUIRE_MESSAGE(reply.has_value(), "no Resolution Reply for " << target.to_string());
  REQUIRE(reply->cies.size() == 1);
  return *reply;
}

}  // namespace

TEST_CASE("hub system: spokes register, resolve each other and purge themselves over real sockets") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;

  std::uint32_t id = 100;
  for (const SimSpoke& spoke : {kCisco, kFrr, kNatted}) {
    auto reply = exchange(wire, spoke, registration_request(spoke, ++id), PacketType::RegistrationReply);
    REQUIRE_MESSAGE(reply.has_value(), "no Registration Reply for " << spoke.protocol.to_string());
    check_registration_reply(*reply, spoke);
  }
  // The NATted spoke learns its public address from the reply.
  {
    auto reply = exchange(wire, kNatted, registration_request(kNatted, ++id), PacketType::RegistrationReply);
    REQUIRE(reply.has_value());
    CHECK(nat_extension_lists(*reply, kNatted.protocol, kNatted.source));
  }

  SUBCASE("advpnctl and the SQLite file list every spoke with its NBMA and post-NAT NBMA") {
    const JsonValue json = hub.registrations();
    CHECK(json["count"].as_int() == 3);
    const auto rows = read_db_bindings(hub.database_path());
    CHECK(rows.size() == 3);
    for (const SimSpoke& spoke : {kCisco, kFrr, kNatted}) {
      CAPTURE(spoke.protocol.to_string());
      const JsonValue* entry = find_registration(json, spoke.protocol);
      REQUIRE(entry != nullptr);
      CHECK((*entry)["nbma"].as_string() == spoke.nbma.to_string());
      CHECK((*entry)["post_nat_nbma"].as_string() == spoke.source.to_string());
      CHECK((*entry)["prefix_len"].as_int() == 32);
      CHECK((*entry)["holding_time"].as_int() == 7200);
      const auto row = find_db_binding(rows, spoke.protocol);
      REQUIRE(row.has_value());
      CHECK(row->nbma == spoke.nbma);
      CHECK(row->post_nat_nbma == spoke.source);
      CHECK(row->prefix_len == 32);
      CHECK(row->holding_time == 7200);
    }
  }

  SUBCASE("a Resolution Request gets the target's NBMA; the NATted target's public one in the NAT extension") {
    const nhrp::Packet to_frr = resolve(wire, kCisco, kFrr.protocol, 200);
    CHECK(to_frr.cies[0].code == CieCode::Success);
    CHECK(to_frr.cies[0].nbma == kFrr.nbma);
    CHECK(to_frr.cies[0].protocol == kFrr.protocol);
    CHECK(to_frr.cies[0].holding_time > 0);

    const nhrp::Packet to_cisco = resolve(wire, kFrr, kCisco.protocol, 201);  // FRR dialect requester
    CHECK(to_cisco.cies[0].code == CieCode::Success);
    CHECK(to_cisco.cies[0].nbma == kCisco.nbma);

    const nhrp::Packet to_natted = resolve(wire, kCisco, kNatted.protocol, 202);
    CHECK(to_natted.cies[0].code == CieCode::Success);
    CHECK(to_natted.cies[0].nbma == kNatted.nbma);
    CHECK(nat_extension_lists(to_natted, kNatted.protocol, kNatted.source));
  }

  SUBCASE("an unknown target is answered with code 12 (RFC 2332 5.2.2)") {
    const nhrp::Packet unknown = resolve(wire, kCisco, IpAddress::v4(10, 0, 0, 99), 300);
    CHECK(unknown.cies[0].code == CieCode::NoBindingExists);
    CHECK(unknown.cies[0].holding_time == 0);
  }

  SUBCASE("a spoke that purges itself is gone from advpnctl and from the SQLite file") {
    auto reply = exchange(wire, kFrr, purge_request(kFrr, 400), PacketType::PurgeReply);
    REQUIRE_MESSAGE(reply.has_value(), "no Purge Reply");
    const JsonValue json = hub.registrations();
    CHECK(json["count"].as_int() == 2);
    CHECK(find_registration(json, kFrr.protocol) == nullptr);
    CHECK(find_registration(json, kCisco.protocol) != nullptr);
    const auto rows = read_db_bindings(hub.database_path());
    CHECK(rows.size() == 2);
    CHECK_FALSE(find_db_binding(rows, kFrr.protocol).has_value());
    // And it no longer resolves.
    CHECK(resolve(wire, kCisco, kFrr.protocol, 401).cies[0].code == CieCode::NoBindingExists);
  }
  CHECK(wire.undecodable() == 0);
}

}  // namespace advpnd::test
