// Registration with a real hub over the fabric (RFC 2332 5.2.3-5.2.5;
// NHRP-WIRE.md 7.6, 8.1, 8.4): timing and request IDs as seen on the wire.
#include <set>

#include "spoke_fixture.h"

namespace advpnd::spoke::testing {
namespace {

using nhrp::PacketType;

std::vector<Duration> offsets(const std::vector<WireRecord>& records, MonotonicTime from) {
  std::vector<Duration> out;
  out.reserve(records.size());
  for (const WireRecord& r : records) out.push_back(r.at - from);
  return out;
}

TEST_CASE("registration: registers at start, refreshes at holdtime/3 with a new request ID") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  const MonotonicTime t0 = net.loop.now();
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();

  auto requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 1);
  const nhrp::Packet first = requests[0].packet;
  CHECK(requests[0].at == t0);
  CHECK(requests[0].destination == kHub1Nbma);
  CHECK(first.flags == 0x8002);  // U|NAT, Cisco (NHRP-WIRE.md 3.1)
  CHECK(first.hop_count == nhrp::kCiscoHopCount);
  CHECK(first.dst_protocol == kHub1Protocol);
  REQUIRE(first.cies.size() == 1);
  CHECK(first.cies[0].holding_time == 600);
  CHECK(first.cies[0].prefix_length == 32);
  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(spoke.status().last_reply_unix.has_value());
  CHECK(spoke.status().granted_holding_time == 600);
  REQUIRE(spoke.status().next_event_in.has_value());
  CHECK(*spoke.status().next_event_in == 200s);
  CHECK(hub.has_binding(kSpokeAProtocol));
  CHECK(net.logged("registering -> registered (reply ok"));

  net.advance(199s);
  CHECK(net.count(kSpokeANbma, PacketType::RegistrationRequest) == 1);
  net.advance(1s);
  net.run();
  requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].at - t0 == 200s);
  CHECK(requests[1].packet.request_id != first.request_id);
  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(spoke.registration().transitions()[1][2] == 1);  // registering -> registered
  CHECK(spoke.registration().transitions()[2][3] == 1);  // registered -> refreshing
  CHECK(spoke.registration().transitions()[3][2] == 1);  // refreshing -> registered

  // Three refreshes per holding time keep the binding alive well past it.
  net.advance(1000s);
  CHECK(net.count(kSpokeANbma, PacketType::RegistrationRequest) == 7);
  CHECK(hub.has_binding(kSpokeAProtocol));
}

TEST_CASE("registration: refreshes are jittered within +/-10 % of holdtime/3") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  const MonotonicTime t0 = net.loop.now();
  std::vector<IpAddress> spokes;
  for (int i = 0; i < 5; ++i) {
    const IpAddress nbma = IpAddress::v4(198, 51, 100, static_cast<std::uint8_t>(10 + i));
    NhcConfig config =
        spoke_config(nbma, IpAddress::v4(10, 0, 0, static_cast<std::uint8_t>(10 + i)), {{kHub1Nbma, kHub1Protocol, 0}});
    config.jitter = kDefaultJitter;
    config.seed = 100 + static_cast<std::uint64_t>(i);
    net.add_spoke(config);
    spokes.push_back(nbma);
  }
  net.run();
  net.advance(230s);
  std::set<Duration> refresh_times;
  for (const IpAddress& nbma : spokes) {
    auto requests = net.sent(nbma, PacketType::RegistrationRequest);
    REQUIRE(requests.size() == 2);
    const Duration at = requests[1].at - t0;
    CHECK(at >= 180s);
    CHECK(at <= 220s);
    refresh_times.insert(at);
  }
  CHECK(refresh_times.size() > 1);  // they spread out
}

TEST_CASE("registration: with the hub unreachable, retransmissions back off 1, 2, 4 ... 64 s with one ID") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  net.fabric.set_link_down(kHub1Nbma);
  const MonotonicTime t0 = net.loop.now();
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.advance(126s);
  CHECK(spoke.status().state == RegistrationState::Registering);
  net.advance(1s);
  CHECK(spoke.status().state == RegistrationState::Failed);
  CHECK(spoke.status().failures == 1);
  CHECK(spoke.status().last_error.find("no reply after 7 attempts") != std::string::npos);
  net.advance(200s);

  auto requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  const std::vector<Duration> expected = {0s, 1s, 3s, 7s, 15s, 31s, 63s, 127s, 191s, 255s, 319s};
  CHECK(offsets(requests, t0) == expected);
  for (const WireRecord& r : requests) CHECK(r.packet.request_id == requests[0].packet.request_id);
  CHECK_FALSE(hub.has_binding(kSpokeAProtocol));

  // The link comes back: the next retransmission (same ID) registers.
  net.fabric.set_link_up(kHub1Nbma);
  net.advance(64s);
  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(hub.has_binding(kSpokeAProtocol));
  requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  CHECK(requests.back().packet.request_id == requests[0].packet.request_id);
  auto replies = net.sent(kHub1Nbma, PacketType::RegistrationReply);
  REQUIRE_FALSE(replies.empty());
  CHECK(replies.back().packet.request_id == requests[0].packet.request_id);
  CHECK(spoke.registration().transitions()[4][2] == 1);  // failed -> registered

  // The refresh after that success takes a new ID.
  net.advance(200s);
  requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  CHECK(requests.back().packet.request_id != requests[0].packet.request_id);
}

TEST_CASE("registration: a refresh that goes unanswered fails the NHS when the binding expires") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke([] {
    NhcConfig config = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
    config.holding_time = 90;  // refresh at 30 s, binding gone at 90 s
    return config;
  }());
  net.run();
  CHECK(spoke.status().state == RegistrationState::Registered);
  net.fabric.set_link_down(kHub1Nbma);
  net.advance(30s);
  CHECK(spoke.status().state == RegistrationState::Refreshing);
  CHECK(spoke.registration().up());
  net.advance(59s);
  CHECK(spoke.status().state == RegistrationState::Refreshing);
  net.advance(1s);
  CHECK(spoke.status().state == RegistrationState::Failed);
  CHECK(spoke.status().last_error == "binding expired at the NHS without a refresh reply");
  CHECK_FALSE(spoke.status().expires_in.has_value());
}

TEST_CASE("registration: an NHS configured by NBMA only is registered with and its address learned") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, IpAddress{}, 0}}));
  net.run();
  auto requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 1);
  // RFC 2332 5.2.3 / FRR `nhs dynamic`: our own address as the destination,
  // and 0.0.0.0 for the NHS in the NAT CIE (NHRP-WIRE.md 7.6, 8.1).
  CHECK(requests[0].packet.dst_protocol == kSpokeAProtocol);
  const nhrp::Extension* nat = requests[0].packet.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].nbma == kHub1Nbma);
  CHECK(nat->cies[0].protocol == ip("0.0.0.0"));

  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(spoke.status().nhs_protocol == kHub1Protocol);
  CHECK(spoke.status().protocol_learned);
  net.advance(200s);
  requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].packet.dst_protocol == kHub1Protocol);
}

TEST_CASE("registration: a spoke behind NAT learns its public NBMA from the reply's NAT extension") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  const IpAddress inside = ip("192.168.1.10");
  const IpAddress outside = ip("198.51.100.20");
  REQUIRE(net.fabric.add_nat(inside, outside).ok());
  TestSpoke& spoke = net.add_spoke(spoke_config(inside, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(spoke.status().own_nat_address == outside);
  CHECK(spoke.nhc->servers().own_nat_address() == outside);
  const db::Binding* binding = hub.binding(kSpokeAProtocol);
  REQUIRE(binding != nullptr);
  CHECK(binding->key.nbma == inside);
  CHECK(binding->post_nat_nbma == outside);
}

TEST_CASE("registration: a spoke not behind NAT reports no NAT address") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  CHECK(spoke.status().state == RegistrationState::Registered);
  CHECK(spoke.status().own_nat_address.empty());
}

TEST_CASE("registration: the FRR dialect registers as FRR does (hop count 1, prefix 0xFF, its extension order)") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  NhcConfig config = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  config.dialect = nhrp::Dialect::Frr;
  config.unique = false;
  TestSpoke& spoke = net.add_spoke(config);
  net.run();
  auto requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 1);
  const nhrp::Packet& request = requests[0].packet;
  CHECK(request.hop_count == nhrp::kFrrRegistrationHopCount);
  CHECK(request.flags == 0x0002);  // no-unique: NAT bit only (NHRP-WIRE.md 3.1)
  CHECK(request.cies.at(0).prefix_length == 32);
  REQUIRE(request.extensions.size() >= 2);
  CHECK(request.extensions[0].type() == nhrp::ExtensionType::ForwardTransit);
  CHECK(spoke.status().state == RegistrationState::Registered);
  REQUIRE(hub.binding(kSpokeAProtocol) != nullptr);
  CHECK_FALSE(hub.binding(kSpokeAProtocol)->unique);
}

}  // namespace
}  // namespace advpnd::spoke::testing
