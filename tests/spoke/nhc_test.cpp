// The NHC facade: decoding and counting, authentication, dispatch of
// Traffic Indications and data frames, configuration checks, and an
// indication storm that must not become a resolution storm.
#include <map>

#include "nhrp/auth.h"
#include "spoke_fixture.h"

namespace advpnd::spoke::testing {
namespace {

using nhrp::PacketType;

// An IPv4 header + 8 bytes: src -> dst (ICMP).
Bytes inner_packet(const IpAddress& src, const IpAddress& dst) {
  Bytes packet(28);
  packet[0] = std::byte{0x45};
  packet[9] = std::byte{1};
  for (std::size_t i = 0; i < 4; ++i) {
    packet[12 + i] = std::byte{src.byte(i)};
    packet[16 + i] = std::byte{dst.byte(i)};
  }
  return packet;
}

nhrp::Packet indication(const RawStation& hub, const IpAddress& hub_protocol, const IpAddress& src,
                        const IpAddress& dst) {
  nhrp::TrafficIndicationSpec spec;
  spec.sender = {hub.nbma, hub_protocol, nhrp::Dialect::Cisco, std::nullopt};
  const Bytes inner = inner_packet(src, dst);
  spec.inner_packet = inner;
  auto built = nhrp::build_traffic_indication(spec);
  REQUIRE(built.ok());
  return *built;
}

TEST_CASE("nhc: malformed packets are counted by reason and change nothing") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  RawStation& attacker = net.add_station(ip("198.51.100.66"));
  net.run();
  REQUIRE(spoke.status().state == RegistrationState::Registered);

  const Bytes garbage(7, std::byte{0x42});
  attacker.send_bytes(kSpokeANbma, garbage);
  // A valid reply with one bit flipped: the checksum no longer verifies.
  auto reply_bytes = net.sent(kHub1Nbma, PacketType::RegistrationReply).at(0).bytes;
  reply_bytes[30] ^= std::byte{0x01};
  attacker.send_bytes(kSpokeANbma, reply_bytes);
  net.run();
  CHECK(spoke.nhc->stats().error_count("malformed: truncated") == 1);
  CHECK(spoke.nhc->stats().error_count("malformed: checksum mismatch") == 1);
  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(attacker.received.empty());  // a spoke never answers with an Error Indication
}

TEST_CASE("nhc: with a password, packets without or with a wrong one are dropped") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol, [](hub::NhsConfig& config) { config.auth_password = "secret"; });
  NhcConfig config = spoke_config(kSpokeBNbma, kSpokeBProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  config.auth_password = "secret";
  TestSpoke& spoke = net.add_spoke(config);
  RawStation& requester = net.add_station(ip("198.51.100.50"));
  net.run();
  REQUIRE(spoke.status().state == RegistrationState::Registered);

  nhrp::ResolutionRequestSpec spec;
  spec.sender = {requester.nbma, ip("10.0.0.50"), nhrp::Dialect::Cisco, std::nullopt};
  spec.target = kSpokeBProtocol;
  spec.request_id = 5;
  requester.send(kSpokeBNbma, nhrp::build_resolution_request(spec));
  spec.sender.auth_password = "wrong";
  requester.send(kSpokeBNbma, nhrp::build_resolution_request(spec));
  net.run();
  CHECK(requester.received.empty());
  CHECK(spoke.nhc->stats().error_count("authentication missing") == 1);
  CHECK(spoke.nhc->stats().error_count("authentication mismatch") == 1);

  spec.sender.auth_password = "secret";
  requester.send(kSpokeBNbma, nhrp::build_resolution_request(spec));
  net.run();
  REQUIRE(requester.received.size() == 1);
  CHECK(requester.received[0].type == PacketType::ResolutionReply);
  CHECK(nhrp::check_cisco_auth(requester.received[0], "secret") == nhrp::AuthCheck::Ok);
}

TEST_CASE("nhc: Traffic Indications from an NHS reach the hook; from anyone else they are dropped") {
  Network net;
  RawStation& hub = net.add_station(kHub1Nbma);
  RawStation& stranger = net.add_station(ip("198.51.100.66"));
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  std::vector<TrafficIndication> seen;
  spoke.nhc->set_traffic_indication_handler([&](const TrafficIndication& ind) { seen.push_back(ind); });
  hub.send(kSpokeANbma, indication(hub, kHub1Protocol, ip("192.168.1.10"), ip("192.168.2.20")));
  stranger.send(kSpokeANbma, indication(stranger, ip("10.0.0.66"), ip("192.168.1.10"), ip("192.168.3.30")));
  net.run();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].nhs_nbma == kHub1Nbma);
  CHECK(seen[0].nhs_protocol == kHub1Protocol);
  CHECK(seen[0].inner_source == ip("192.168.1.10"));
  CHECK(seen[0].inner_destination == ip("192.168.2.20"));
  CHECK(spoke.nhc->stats().error_count("traffic indication from a non-NHS") == 1);
  CHECK(spoke.nhc->stats().received_count(PacketType::TrafficIndication) == 2);
}

TEST_CASE("nhc: an indication storm does not become a resolution storm") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  // A second NHS that redirects wildly (and never answers registrations).
  RawStation& noisy = net.add_station(kHub2Nbma);
  TestSpoke& spoke = net.add_spoke(
      spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}, {kHub2Nbma, kHub2Protocol, 1}}));
  std::map<ResolutionStatus, int> outcomes;
  spoke.nhc->set_traffic_indication_handler([&](const TrafficIndication& ind) {
    spoke.nhc->resolve(ind.inner_destination, [&](const ResolutionResult& r) { ++outcomes[r.status]; });
  });
  net.run();
  REQUIRE(spoke.nhc->servers().primary() != nullptr);

  for (int i = 0; i < 200; ++i) {
    const IpAddress target =
        IpAddress::v4(10, 1, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250));
    noisy.send(kSpokeANbma, indication(noisy, kHub2Protocol, ip("192.168.1.10"), target));
  }
  // Repeats for a target being resolved are coalesced into its request ...
  for (int i = 0; i < 50; ++i) {
    noisy.send(kSpokeANbma, indication(noisy, kHub2Protocol, ip("192.168.1.10"), IpAddress::v4(10, 1, 0, 0)));
  }
  net.run();
  const ResolutionConfig defaults;
  const auto burst = static_cast<std::size_t>(defaults.rate.burst);
  CHECK(net.count(kSpokeANbma, PacketType::ResolutionRequest) == burst);
  // (the hub knows none of the targets: code 12 for each, and the 50 callers of the first)
  CHECK(outcomes[ResolutionStatus::Refused] == static_cast<int>(burst) + 50);
  CHECK(outcomes[ResolutionStatus::RateLimited] == 200 - static_cast<int>(burst));
  // ... and once answered, negative-cached: nothing more goes out.
  for (int i = 0; i < 50; ++i) {
    noisy.send(kSpokeANbma, indication(noisy, kHub2Protocol, ip("192.168.1.10"), IpAddress::v4(10, 1, 0, 0)));
  }
  net.run();
  CHECK(outcomes[ResolutionStatus::NegativeCached] == 50);
  CHECK(net.count(kSpokeANbma, PacketType::ResolutionRequest) == burst);

  // One second later the bucket has refilled by its rate, not more.
  net.advance(1s);
  for (int i = 0; i < 100; ++i) {
    noisy.send(kSpokeANbma, indication(noisy, kHub2Protocol, ip("192.168.1.10"),
                                       IpAddress::v4(10, 2, 0, static_cast<std::uint8_t>(i))));
  }
  net.run();
  CHECK(net.count(kSpokeANbma, PacketType::ResolutionRequest) ==
        burst + static_cast<std::size_t>(defaults.rate.per_second));
}

TEST_CASE("nhc: data frames go to the data hook; registration requests to a spoke are counted") {
  Network net;
  RawStation& peer = net.add_station(kSpokeBNbma);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  int data_frames = 0;
  spoke.nhc->set_data_frame_handler([&](const NbmaFrame& frame) {
    CHECK(frame.gre_protocol == nhrp::kGreProtocolIpv4);
    ++data_frames;
  });
  peer.send_bytes(kSpokeANbma, inner_packet(ip("192.168.2.1"), ip("192.168.1.1")), nhrp::kGreProtocolIpv4);
  nhrp::RegistrationRequestSpec spec;
  spec.sender = {peer.nbma, kSpokeBProtocol, nhrp::Dialect::Cisco, std::nullopt};
  spec.nhs_protocol = kSpokeAProtocol;
  spec.nhs_nbma = kSpokeANbma;
  spec.request_id = 3;
  peer.send(kSpokeANbma, nhrp::build_registration_request(spec));
  net.run();
  CHECK(data_frames == 1);
  CHECK(spoke.nhc->stats().error_count("unexpected registration-request") == 1);
  CHECK(peer.received.empty());
}

TEST_CASE("nhc: start() refuses an unusable configuration") {
  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric(loop);
  auto endpoint = fabric.create_endpoint(kSpokeANbma);
  REQUIRE(endpoint.ok());
  auto check = [&](NhcConfig config, const std::string& expected) {
    Nhc nhc(std::move(config), **endpoint, loop, loop);
    auto started = nhc.start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().find(expected) != std::string::npos);
  };
  check(spoke_config(kSpokeANbma, kSpokeAProtocol, {}), "no NHS");
  check(spoke_config(kSpokeANbma, IpAddress{}, {{kHub1Nbma, kHub1Protocol, 0}}), "no tunnel");
  NhcConfig long_password = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  long_password.auth_password = "123456789";
  check(long_password, "longer than 8");
  check(spoke_config(kSpokeANbma, kSpokeAProtocol, {{ip("2001:db8::1"), kHub1Protocol, 0}}), "NBMA family");
  NhcConfig bad_prefix = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  bad_prefix.local_prefixes = {{ip("192.168.2.0"), 33}};
  check(bad_prefix, "local prefix");
}

}  // namespace
}  // namespace advpnd::spoke::testing
