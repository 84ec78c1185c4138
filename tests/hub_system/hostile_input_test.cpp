// Hostile input from unregistered sources (STYLE.md "validate before
// interpreting"; RFC 2332 5.2.7): truncated NHRP, a bad checksum, garbage
// that is not GRE or not NHRP, a pktsz far past the data, Error
// Indications. The daemon stays up, counts malformed packets by reason in
// `show stats --json` (errors.malformed: ..., transport.dropped_malformed for
// what is not even GRE), never answers an Error Indication, and legitimate
// spokes still register afterwards. A link-local multicast flood from one
// source is bounded per source (dataplane/multicast.h) and counted.
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "tests/dataplane/packets.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;
using nhrp::PacketType;

const SimSpoke kHostile{IpAddress::v4(127, 0, 6, 66), IpAddress::v4(127, 0, 6, 66), IpAddress::v4(10, 0, 6, 66)};
// Sends only Error Indications: nothing may ever be sent back to it.
const SimSpoke kReporter{IpAddress::v4(127, 0, 6, 77), IpAddress::v4(127, 0, 6, 77), IpAddress::v4(10, 0, 6, 77)};
const SimSpoke kLegit{IpAddress::v4(127, 0, 6, 10), IpAddress::v4(127, 0, 6, 10), IpAddress::v4(10, 0, 6, 10)};

constexpr std::size_t kChecksumOffset = 10 + 2;  // ar$pktsz at 10, ar$chksum at 12 (NHRP-WIRE.md 2)
constexpr std::size_t kPacketSizeOffset = 10;

std::vector<std::byte> encoded(const nhrp::Packet& packet) {
  auto bytes = nhrp::encode(packet);
  REQUIRE(bytes.ok());
  return std::move(bytes).value();
}

std::vector<std::byte> bytes_of(std::initializer_list<std::uint8_t> values) {
  std::vector<std::byte> out;
  for (std::uint8_t v : values) out.push_back(std::byte{v});
  return out;
}

nhrp::Packet error_indication_from(const SimSpoke& reporter, std::span<const std::byte> offending) {
  nhrp::ErrorIndicationSpec spec;
  spec.sender = reporter.sender();
  spec.code = nhrp::ErrorCode::ProtocolError;
  spec.offset = 4;
  spec.offending = offending;
  spec.offending_source = kHubProtocol;
  return nhrp::build_error_indication(spec);
}

std::int64_t malformed_total(const JsonValue& stats) {
  std::int64_t total = 0;
  for (const auto& [reason, count] : stats["errors"].members()) {
    if (reason.rfind("malformed: ", 0) == 0) total += count.as_int();
  }
  return total;
}

}  // namespace

TEST_CASE("hub system: hostile input is counted by reason, Error Indications are never answered") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  const std::vector<std::byte> valid = encoded(registration_request(kHostile, 1));

  // Truncated inside the fixed header: dropped, nothing to answer to.
  wire.send_gre(kHostile.source, nhrp::kGreProtocolNhrp, std::span(valid).first(10));
  // Bad checksum.
  std::vector<std::byte> bad_checksum = valid;
  bad_checksum[kChecksumOffset] ^= std::byte{0x5a};
  wire.send_gre(kHostile.source, nhrp::kGreProtocolNhrp, bad_checksum);
  // ar$pktsz 65535 over a 100-byte packet.
  std::vector<std::byte> huge = valid;
  huge[kPacketSizeOffset] = std::byte{0xff};
  huge[kPacketSizeOffset + 1] = std::byte{0xff};
  wire.send_gre(kHostile.source, nhrp::kGreProtocolNhrp, huge);
  // Garbage: not even a GRE header; GRE version 7; GRE carrying IPv4 junk;
  // NHRP-typed GRE of junk (its "pktsz" 0xABAB exceeds the data).
  wire.send_ip_payload(kHostile.source, bytes_of({0xde, 0xad, 0xbe}));
  wire.send_ip_payload(kHostile.source, bytes_of({0x00, 0x07, 0x20, 0x01, 1, 2, 3, 4}));
  wire.send_gre(kHostile.source, nhrp::kGreProtocolIpv4, std::vector<std::byte>(40, std::byte{0xab}));
  wire.send_gre(kHostile.source, nhrp::kGreProtocolNhrp, std::vector<std::byte>(64, std::byte{0xab}));

  // Error Indications, well-formed and malformed, from a source of their own.
  const std::vector<std::byte> indication = encoded(error_indication_from(kReporter, valid));
  wire.send_gre(kReporter.source, nhrp::kGreProtocolNhrp, indication);
  std::vector<std::byte> bad_indication = indication;
  bad_indication[kChecksumOffset] ^= std::byte{0x01};
  wire.send_gre(kReporter.source, nhrp::kGreProtocolNhrp, bad_indication);
  std::vector<std::byte> short_indication = indication;
  short_indication.resize(30);  // pktsz still says the full length
  wire.send_gre(kReporter.source, nhrp::kGreProtocolNhrp, short_indication);

  // A seeded random flood of NHRP-typed garbage, some of it a real packet with bytes flipped.
  std::mt19937 random(2332);
  for (int i = 0; i < 300; ++i) {
    std::vector<std::byte> junk;
    if (i % 2 == 0) {
      junk = valid;  // at least one byte really changes: never a valid registration
      junk[random() % junk.size()] ^= std::byte{static_cast<std::uint8_t>(1 + random() % 255)};
    } else {
      junk.resize(random() % 200);
      for (std::byte& b : junk) b = std::byte{static_cast<std::uint8_t>(random())};
    }
    wire.send_gre(kHostile.source, nhrp::kGreProtocolNhrp, junk);
  }

  // Whatever the hub sends back within a while; none of it to the reporter.
  const std::vector<HubPacket> answers = wire.collect(500ms);
  for (const HubPacket& p : answers) {
    CHECK_MESSAGE(p.destination != kReporter.source,
                  "the hub answered an Error Indication with " << nhrp::to_string(p.packet.type));
  }
  CHECK(wire.undecodable() == 0);
  REQUIRE_MESSAGE(hub.alive(), hub.log());

  const JsonValue stats = hub.stats();
  CHECK(error_count(stats, "malformed: truncated") >= 1);
  CHECK(error_count(stats, "malformed: checksum mismatch") >= 2);
  CHECK(error_count(stats, "malformed: packet size exceeds data") >= 3);
  CHECK(error_count(stats, "received error indication protocol-error") == 1);
  // The GRE frame with IPv4 junk reached the hub's dataplane, which dropped it.
  CHECK(stats["dataplane"]["dropped"].as_int() == 1);
  CHECK(stats["dataplane"]["hairpinned"].as_int() == 0);
  // The two that are not GRE at all never reach the NHS: the transport counts them.
  CHECK(stats["transport"]["dropped_malformed"].as_int() == 2);
  CHECK(malformed_total(stats) >= 7);
  CHECK(packets_received(stats, "error-indication") == 1);
  CHECK(stats["registrations"].as_int() == 0);
  const CommandResult table = hub.ctl({"show", "stats"});
  CHECK(table.out.find("malformed: checksum mismatch") != std::string::npos);
  CHECK(table.out.find("2 malformed GRE") != std::string::npos);

  // A legitimate spoke is served as usual.
  CHECK(register_spoke(wire, kLegit, 1000) == nhrp::CieCode::Success);
  CHECK(hub.registrations()["count"].as_int() == 1);
  REQUIRE(hub.alive());
}

TEST_CASE("hub system: a link-local multicast flood from one source is bounded per source and counted") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  REQUIRE(register_spoke(wire, kLegit, 1) == nhrp::CieCode::Success);  // a receiver for the copies
  // Before it registers, the flooding source is no member of the segment:
  // nothing of it is replicated (only registered spokes flood, like Cisco's
  // `ip nhrp map multicast dynamic`).
  for (int i = 0; i < 5; ++i) {
    wire.send_gre(kHostile.source, nhrp::kGreProtocolIpv4,
                  dataplane::test::udp_packet({kHostile.protocol, IpAddress::v4(224, 0, 0, 5)}));
  }
  JsonValue before = hub.stats();
  for (int wait = 0; wait < 100 && before["dataplane"]["multicast"]["not_registered"].as_int() < 5; ++wait) {
    std::this_thread::sleep_for(50ms);
    before = hub.stats();
  }
  CHECK(before["dataplane"]["multicast"]["not_registered"].as_int() == 5);
  CHECK(before["dataplane"]["multicast"]["frames_in"].as_int() == 0);
  CHECK(before["dataplane"]["multicast"]["copies_out"].as_int() == 0);
  REQUIRE(register_spoke(wire, kHostile, 2) == nhrp::CieCode::Success);

  // 300 OSPF-like frames (224.0.0.5, TTL 1) at once, and one to a group that is not link-local.
  constexpr int kFlood = 300;
  for (int i = 0; i < kFlood; ++i) {
    dataplane::test::UdpSpec spec{kHostile.protocol, IpAddress::v4(224, 0, 0, 5)};
    spec.ttl = 1;
    spec.sequence = static_cast<std::uint32_t>(i);
    wire.send_gre(kHostile.source, nhrp::kGreProtocolIpv4, dataplane::test::udp_packet(spec));
  }
  wire.send_gre(kHostile.source, nhrp::kGreProtocolIpv4,
                dataplane::test::udp_packet({kHostile.protocol, IpAddress::v4(239, 1, 1, 1)}));

  JsonValue stats = hub.stats();
  for (int wait = 0; wait < 100; ++wait) {  // the daemon reads them in its own time
    const JsonValue& m = stats["dataplane"]["multicast"];
    if (m["frames_in"].as_int() + m["rate_limited_source"].as_int() + m["not_link_local"].as_int() > kFlood) break;
    std::this_thread::sleep_for(50ms);
    stats = hub.stats();
  }
  const JsonValue& m = stats["dataplane"]["multicast"];
  // deploy/hub.toml's defaults: a burst of 100 per spoke, then 50 a second.
  CHECK(m["frames_in"].as_int() >= 100);
  CHECK(m["frames_in"].as_int() <= 120);
  CHECK(m["frames_in"].as_int() + m["rate_limited_source"].as_int() == kFlood);
  CHECK(m["rate_limited_total"].as_int() == 0);
  CHECK(m["not_link_local"].as_int() == 1);
  CHECK(m["copies_out"].as_int() == m["frames_in"].as_int());  // to kLegit only, never back to the sender
  CHECK(m["to_device"].as_int() == m["frames_in"].as_int());
  CHECK(stats["dataplane"]["drops"]["multicast-rate-limited"].as_int() == m["rate_limited_source"].as_int());
  CHECK(stats["dataplane"]["drops"]["multicast"].as_int() == 1 + 5);  // the 239.x frame, the unregistered five
  CHECK(stats["dataplane"]["hairpinned"].as_int() == 0);
  const CommandResult table = hub.ctl({"show", "stats"});
  CHECK(table.out.find("multicast: " + std::to_string(m["frames_in"].as_int()) + " link-local frames in") !=
        std::string::npos);
  CHECK(hub.registrations()["count"].as_int() == 2);
  REQUIRE(hub.alive());
}

}  // namespace advpnd::test
