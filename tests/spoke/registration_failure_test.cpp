// Registration refused (CIE codes 14 and 5, Error Indications), purge on
// shutdown, and the transition table (RFC 2332 5.2.4, 5.2.5, 5.2.7).
#include "spoke_fixture.h"

namespace advpnd::spoke::testing {
namespace {

using nhrp::PacketType;

TEST_CASE("registration: code 14 while another NBMA holds the unique binding; registers once it is purged") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& owner = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  REQUIRE(owner.status().state == RegistrationState::Registered);

  // Another spoke claims the same tunnel address from another NBMA.
  const MonotonicTime t0 = net.loop.now();
  TestSpoke& other = net.add_spoke(spoke_config(kSpokeBNbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  NhsStatus status = other.status();
  CHECK(status.state == RegistrationState::Failed);
  REQUIRE(status.last_code.has_value());
  CHECK(*status.last_code == nhrp::CieCode::UniqueAddressRegistered);
  CHECK(status.last_error.find("NAK code 14") != std::string::npos);
  CHECK(status.failures == 1);
  CHECK(hub.binding(kSpokeAProtocol)->key.nbma == kSpokeANbma);

  // Retries back off (10 s, then 20 s), always with the same request ID.
  net.advance(30s);
  auto requests = net.sent(kSpokeBNbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].at - t0 == 10s);
  CHECK(requests[2].at - t0 == 30s);
  for (const WireRecord& r : requests) CHECK(r.packet.request_id == requests[0].packet.request_id);
  CHECK(other.status().failures == 3);

  // The owner leaves cleanly; the next retry (40 s later) succeeds.
  bool stopped = false;
  owner.nhc->shutdown([&] { stopped = true; });
  net.run();
  CHECK(stopped);
  CHECK_FALSE(hub.has_binding(kSpokeAProtocol));
  net.advance(40s);
  CHECK(other.status().state == RegistrationState::Registered);
  CHECK(hub.binding(kSpokeAProtocol)->key.nbma == kSpokeBNbma);
}

TEST_CASE("registration: code 5 (insufficient resources) backs off, doubling up to 64 s") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol, [](hub::NhsConfig& config) { config.max_registrations = 0; });
  const MonotonicTime t0 = net.loop.now();
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.advance(400s);
  CHECK(spoke.status().state == RegistrationState::Failed);
  CHECK(*spoke.status().last_code == nhrp::CieCode::InsufficientResources);
  auto requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  std::vector<Duration> gaps;
  for (std::size_t i = 1; i < requests.size(); ++i) gaps.push_back(requests[i].at - requests[i - 1].at);
  const std::vector<Duration> expected = {10s, 20s, 40s, 64s, 64s, 64s, 64s, 64s};
  CHECK(gaps == expected);
  CHECK(requests.front().at == t0);
}

TEST_CASE("registration: an Error Indication naming our request ID fails it") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol, [](hub::NhsConfig& config) { config.auth_password = "secret"; });
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  auto indications = net.sent(kHub1Nbma, PacketType::ErrorIndication);
  REQUIRE(indications.size() == 1);
  NhsStatus status = spoke.status();
  CHECK(status.state == RegistrationState::Failed);
  REQUIRE(status.last_error_indication.has_value());
  CHECK(*status.last_error_indication == nhrp::ErrorCode::AuthenticationFailure);
  CHECK(status.last_error.find("error indication 11") != std::string::npos);
  // No retransmission of the refused request before the backoff.
  net.advance(9s);
  CHECK(net.count(kSpokeANbma, PacketType::RegistrationRequest) == 1);
  net.advance(1s);
  CHECK(net.count(kSpokeANbma, PacketType::RegistrationRequest) == 2);
}

TEST_CASE("registration: the right password registers with a hub that requires one") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol, [](hub::NhsConfig& config) { config.auth_password = "secret"; });
  NhcConfig config = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  config.auth_password = "secret";
  TestSpoke& spoke = net.add_spoke(config);
  net.run();
  CHECK(spoke.status().state == RegistrationState::Registered);
}

TEST_CASE("shutdown: the Purge Request removes the binding at the hub") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  REQUIRE(hub.has_binding(kSpokeAProtocol));
  const std::uint32_t registered_id = net.sent(kSpokeANbma, PacketType::RegistrationRequest).back().packet.request_id;

  bool stopped = false;
  spoke.nhc->shutdown([&] { stopped = true; });
  CHECK_FALSE(stopped);  // never inside shutdown()
  CHECK(spoke.status().state == RegistrationState::Purging);
  net.run();
  CHECK(stopped);
  CHECK(spoke.status().state == RegistrationState::Idle);
  CHECK_FALSE(hub.has_binding(kSpokeAProtocol));

  auto purges = net.sent(kSpokeANbma, PacketType::PurgeRequest);
  REQUIRE(purges.size() == 1);
  const nhrp::Packet& purge = purges[0].packet;
  CHECK(purge.request_id == registered_id);  // Cisco: same ID as the registration (OpenNHRP)
  CHECK((purge.flags & nhrp::flags::kPurgeN) == 0);
  CHECK(purge.dst_protocol == kHub1Protocol);
  REQUIRE(purge.cies.size() == 1);
  CHECK(purge.cies[0].protocol == kSpokeAProtocol);
  CHECK(net.count(kHub1Nbma, PacketType::PurgeReply) == 1);
  CHECK(net.logged("purging -> idle (purge acknowledged)"));
}

TEST_CASE("shutdown: with the hub unreachable the wait is bounded") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  net.fabric.set_link_down(kHub1Nbma);
  bool stopped = false;
  spoke.nhc->shutdown([&] { stopped = true; });
  net.advance(2900ms);
  CHECK_FALSE(stopped);
  net.advance(100ms);
  net.run();
  CHECK(stopped);
  CHECK(spoke.status().state == RegistrationState::Idle);
  CHECK(net.count(kSpokeANbma, PacketType::PurgeRequest) == 3);
  CHECK(net.logged("no purge reply within 3 s"));
}

TEST_CASE("shutdown: nothing registered, nothing purged") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  net.fabric.set_link_down(kHub1Nbma);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.advance(5s);
  bool stopped = false;
  spoke.nhc->shutdown([&] { stopped = true; });
  net.run();
  CHECK(stopped);
  CHECK(net.count(kSpokeANbma, PacketType::PurgeRequest) == 0);
  // Stopped means stopped: no more retransmissions.
  const std::size_t sent = net.count(kSpokeANbma, PacketType::RegistrationRequest);
  net.advance(300s);
  CHECK(net.count(kSpokeANbma, PacketType::RegistrationRequest) == sent);
}

TEST_CASE("state machine: the transition table refuses illegal moves and counts them") {
  using S = RegistrationState;
  CHECK(is_legal_transition(S::Idle, S::Registering));
  CHECK_FALSE(is_legal_transition(S::Idle, S::Registered));
  CHECK_FALSE(is_legal_transition(S::Registered, S::Failed));  // a binding is lost only through Refreshing
  CHECK_FALSE(is_legal_transition(S::Purging, S::Registered));
  CHECK_FALSE(is_legal_transition(S::Failed, S::Refreshing));
  CHECK(is_legal_transition(S::Refreshing, S::Failed));
  CHECK(is_legal_transition(S::Failed, S::Purging));

  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  NhsRegistration& registration = spoke.registration();
  REQUIRE(registration.state() == S::Registered);
  CHECK_FALSE(registration.transition(S::Registering, "test"));
  CHECK(registration.state() == S::Registered);
  CHECK(registration.refused_transitions() == 1);
  CHECK(net.logged("refused registered -> registering (test)"));
}

TEST_CASE("registration: with fixed_request_id every registration and the purge use one ID (Cisco capture)") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  NhcConfig config = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  config.fixed_request_id = true;
  TestSpoke& spoke = net.add_spoke(config);
  net.run();
  net.advance(600s);
  auto requests = net.sent(kSpokeANbma, PacketType::RegistrationRequest);
  REQUIRE(requests.size() == 4);
  for (const WireRecord& r : requests) CHECK(r.packet.request_id == requests[0].packet.request_id);
  spoke.nhc->shutdown([] {});
  net.run();
  auto purges = net.sent(kSpokeANbma, PacketType::PurgeRequest);
  REQUIRE(purges.size() == 1);
  CHECK(purges[0].packet.request_id == requests[0].packet.request_id);
}

TEST_CASE("shutdown: registered local prefixes are purged with the tunnel address") {
  Network net;
  TestHub& hub = net.add_hub(kHub1Nbma, kHub1Protocol);
  NhcConfig config = spoke_config(kSpokeBNbma, kSpokeBProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
  config.local_prefixes = {{ip("192.168.2.0"), 24}};
  config.register_local_prefixes = true;
  TestSpoke& spoke = net.add_spoke(config);
  net.run();
  REQUIRE(hub.has_binding(kSpokeBProtocol));
  const db::Binding* lan = hub.binding(ip("192.168.2.0"));
  REQUIRE(lan != nullptr);
  CHECK(lan->key.prefix_len == 24);
  spoke.nhc->shutdown([] {});
  net.run();
  CHECK_FALSE(hub.has_binding(kSpokeBProtocol));
  CHECK_FALSE(hub.has_binding(ip("192.168.2.0")));
  auto purges = net.sent(kSpokeBNbma, PacketType::PurgeRequest);
  REQUIRE(purges.size() == 1);
  REQUIRE(purges[0].packet.cies.size() == 2);
  CHECK(purges[0].packet.cies[1].prefix_length == 24);
}

}  // namespace
}  // namespace advpnd::spoke::testing
