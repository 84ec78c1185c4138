// Several NHSs with priorities: register with all, resolve through the
// preferred one that is up, fail over and back.
#include "spoke_fixture.h"

namespace advpnd::spoke::testing {
namespace {

using nhrp::PacketType;

TEST_CASE("nhs set: registers with every NHS; the preferred one that is up is the primary; fail-over and back") {
  Network net;
  TestHub& hub1 = net.add_hub(kHub1Nbma, kHub1Protocol);
  TestHub& hub2 = net.add_hub(kHub2Nbma, kHub2Protocol);
  // Configured backup first: the order of preference is the priority (0 best).
  TestSpoke& spoke = net.add_spoke(
      spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub2Nbma, kHub2Protocol, 10}, {kHub1Nbma, kHub1Protocol, 0}}));
  std::vector<IpAddress> primaries;
  spoke.nhc->servers().set_on_primary_change(
      [&](const NhsRegistration* primary) { primaries.push_back(primary ? primary->nbma() : IpAddress{}); });
  net.run();

  NhsSet& servers = spoke.nhc->servers();
  CHECK(servers.up_count() == 2);
  CHECK(hub1.has_binding(kSpokeAProtocol));
  CHECK(hub2.has_binding(kSpokeAProtocol));
  REQUIRE(servers.primary() != nullptr);
  CHECK(servers.primary()->nbma() == kHub1Nbma);
  CHECK(servers.status().at(0).nhs_nbma == kHub1Nbma);  // status in order of preference

  // Resolutions go to the primary.
  spoke.nhc->resolve(ip("10.0.0.77"), [](const ResolutionResult&) {});
  net.run();
  CHECK(net.sent(kSpokeANbma, PacketType::ResolutionRequest).back().destination == kHub1Nbma);

  // hub1 goes dark: its refresh at 200 s goes unanswered; after the
  // attempts run out (127 s) it has failed and hub2 takes over.
  net.fabric.set_link_down(kHub1Nbma);
  net.advance(200s + 126s);
  CHECK(servers.primary()->nbma() == kHub1Nbma);
  net.advance(1s);
  REQUIRE(servers.primary() != nullptr);
  CHECK(servers.primary()->nbma() == kHub2Nbma);
  CHECK(servers.up_count() == 1);
  CHECK(servers.status().at(0).state == RegistrationState::Failed);
  spoke.nhc->resolve(ip("10.0.0.78"), [](const ResolutionResult&) {});
  net.run();
  CHECK(net.sent(kSpokeANbma, PacketType::ResolutionRequest).back().destination == kHub2Nbma);

  // hub1 comes back: its next retry registers and it is primary again.
  net.fabric.set_link_up(kHub1Nbma);
  net.advance(64s);
  CHECK(servers.up_count() == 2);
  CHECK(servers.primary()->nbma() == kHub1Nbma);
  const std::vector<IpAddress> expected = {kHub1Nbma, kHub2Nbma, kHub1Nbma};
  CHECK(primaries == expected);
}

TEST_CASE("nhs set: with no NHS up there is no primary and resolutions say so") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  net.fabric.set_link_down(kHub1Nbma);
  TestSpoke& spoke = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.advance(2s);
  CHECK(spoke.nhc->servers().primary() == nullptr);
  std::optional<ResolutionResult> result;
  spoke.nhc->resolve(kSpokeBProtocol, [&](const ResolutionResult& r) { result = r; });
  CHECK_FALSE(result.has_value());
  net.run();
  REQUIRE(result.has_value());
  CHECK(result->status == ResolutionStatus::NoNhs);
  CHECK(net.count(kSpokeANbma, PacketType::ResolutionRequest) == 0);
}

TEST_CASE("nhs set: shutdown purges at every NHS and ends once all are idle") {
  Network net;
  TestHub& hub1 = net.add_hub(kHub1Nbma, kHub1Protocol);
  TestHub& hub2 = net.add_hub(kHub2Nbma, kHub2Protocol);
  TestSpoke& spoke = net.add_spoke(
      spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}, {kHub2Nbma, kHub2Protocol, 1}}));
  net.run();
  REQUIRE(spoke.nhc->servers().up_count() == 2);
  net.fabric.set_link_down(kHub2Nbma);  // one purge goes unanswered
  int stopped = 0;
  spoke.nhc->shutdown([&] { ++stopped; });
  net.run();
  CHECK(stopped == 0);
  CHECK_FALSE(hub1.has_binding(kSpokeAProtocol));
  net.advance(3s);
  net.run();
  CHECK(stopped == 1);
  CHECK(hub2.has_binding(kSpokeAProtocol));  // it will expire there
  CHECK(spoke.nhc->servers().primary() == nullptr);
}

TEST_CASE("nhs set: a short registration timeout (Cisco) finds a dead primary sooner") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  net.add_hub(kHub2Nbma, kHub2Protocol);
  NhcConfig config =
      spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}, {kHub2Nbma, kHub2Protocol, 1}});
  config.registration_timeout = 60s;
  TestSpoke& spoke = net.add_spoke(config);
  net.run();
  net.fabric.set_link_down(kHub1Nbma);
  net.advance(60s);
  CHECK(net.count(kSpokeANbma, PacketType::RegistrationRequest) == 4);  // 2 at start, 2 refreshes
  net.advance(126s);
  CHECK(spoke.nhc->servers().primary()->nbma() == kHub1Nbma);
  net.advance(1s);
  CHECK(spoke.nhc->servers().primary()->nbma() == kHub2Nbma);
}

}  // namespace
}  // namespace advpnd::spoke::testing
