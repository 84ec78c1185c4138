// Resolution through the real hub (RFC 2332 5.2.1, 5.2.2; NHRP-WIRE.md
// 7.6, 8.3): answers, NAT correction, negative cache, retransmission and
// timeout, coalescing, the outstanding cap, Error Indications.
#include "spoke_fixture.h"

namespace advpnd::spoke::testing {
namespace {

using nhrp::PacketType;

struct TwoSpokes {
  explicit TwoSpokes(const std::function<void(NhcConfig&)>& tweak_a = {}, IpAddress b_nbma = kSpokeBNbma)
      : hub(net.add_hub(kHub1Nbma, kHub1Protocol)),
        a(net.add_spoke([&] {
          NhcConfig config = spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}});
          if (tweak_a) tweak_a(config);
          return config;
        }())),
        b(net.add_spoke(spoke_config(b_nbma, kSpokeBProtocol, {{kHub1Nbma, kHub1Protocol, 0}}))) {
    net.run();
    REQUIRE(a.status().state == RegistrationState::Registered);
    REQUIRE(b.status().state == RegistrationState::Registered);
  }
  std::optional<ResolutionResult> resolve(const IpAddress& target) {
    std::optional<ResolutionResult> result;
    a.nhc->resolve(target, [&result](const ResolutionResult& r) { result = r; });
    net.run();
    return result;
  }

  Network net;
  TestHub& hub;
  TestSpoke& a;
  TestSpoke& b;
};

TEST_CASE("resolution: the hub answers with the other spoke's binding") {
  TwoSpokes t;
  auto result = t.resolve(kSpokeBProtocol);
  REQUIRE(result.has_value());
  CHECK(result->ok());
  CHECK(result->code == nhrp::CieCode::Success);
  CHECK(result->nbma == kSpokeBNbma);
  CHECK(result->protocol == kSpokeBProtocol);
  CHECK(result->prefix == kSpokeBProtocol);
  CHECK(result->prefix_length == 32);
  CHECK(result->holding_time > 0);
  CHECK(result->holding_time <= 600);
  CHECK(result->answered_by == kHub1Nbma);

  auto requests = t.net.sent(kSpokeANbma, PacketType::ResolutionRequest);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].destination == kHub1Nbma);
  CHECK(requests[0].packet.flags == 0xC802);  // Q|A|S|NAT (NHRP-WIRE.md 3.1)
  CHECK(requests[0].packet.dst_protocol == kSpokeBProtocol);
  CHECK(requests[0].packet.hop_count == nhrp::kCiscoHopCount);
  CHECK(t.a.nhc->resolution().outstanding() == 0);
}

TEST_CASE("resolution: a target behind NAT resolves to its public NBMA (NAT extension)") {
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  const IpAddress inside = ip("192.168.7.3");
  const IpAddress outside = ip("198.51.100.33");
  REQUIRE(net.fabric.add_nat(inside, outside).ok());
  TestSpoke& a = net.add_spoke(spoke_config(kSpokeANbma, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  TestSpoke& b = net.add_spoke(spoke_config(inside, kSpokeBProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  REQUIRE(b.status().own_nat_address == outside);

  std::optional<ResolutionResult> result;
  a.nhc->resolve(kSpokeBProtocol, [&](const ResolutionResult& r) { result = r; });
  net.run();
  REQUIRE(result.has_value());
  CHECK(result->ok());
  CHECK(result->claimed_nbma == inside);
  CHECK(result->nbma == outside);
}

TEST_CASE("resolution: a requester behind NAT names its public NBMA in the request's NAT extension") {
  const IpAddress outside = ip("198.51.100.44");
  Network net;
  net.add_hub(kHub1Nbma, kHub1Protocol);
  const IpAddress inside = ip("192.168.1.10");
  REQUIRE(net.fabric.add_nat(inside, outside).ok());
  TestSpoke& a = net.add_spoke(spoke_config(inside, kSpokeAProtocol, {{kHub1Nbma, kHub1Protocol, 0}}));
  net.run();
  a.nhc->resolve(kSpokeBProtocol, [](const ResolutionResult&) {});
  net.run();
  auto requests = net.sent(inside, PacketType::ResolutionRequest);
  REQUIRE(requests.size() == 1);
  const nhrp::Extension* nat = requests[0].packet.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 1);
  CHECK(nat->cies[0].nbma == outside);
  CHECK(nat->cies[0].protocol == kSpokeAProtocol);
}

TEST_CASE("resolution: code 12 is negative-cached, with a doubling hold on repeats") {
  TwoSpokes t;
  const IpAddress nobody = ip("10.0.0.99");
  const MonotonicTime t0 = t.net.loop.now();
  auto result = t.resolve(nobody);
  REQUIRE(result.has_value());
  CHECK(result->status == ResolutionStatus::Refused);
  CHECK(result->code == nhrp::CieCode::NoBindingExists);
  CHECK(t.a.nhc->resolution().negative_cache().size() == 1);

  // Asked again at once: answered from the cache, nothing on the wire,
  // and not from inside resolve().
  std::optional<ResolutionResult> cached;
  t.a.nhc->resolve(nobody, [&](const ResolutionResult& r) { cached = r; });
  CHECK_FALSE(cached.has_value());
  t.net.run();
  REQUIRE(cached.has_value());
  CHECK(cached->status == ResolutionStatus::NegativeCached);
  CHECK(t.net.count(kSpokeANbma, PacketType::ResolutionRequest) == 1);

  // After 10 s it is asked again; a second NAK holds for 20 s.
  t.net.advance(9s);
  CHECK(t.resolve(nobody)->status == ResolutionStatus::NegativeCached);
  t.net.advance(1s);
  CHECK(t.resolve(nobody)->status == ResolutionStatus::Refused);
  CHECK(t.net.count(kSpokeANbma, PacketType::ResolutionRequest) == 2);
  t.net.advance(19s);
  CHECK(t.resolve(nobody)->status == ResolutionStatus::NegativeCached);
  t.net.advance(1s);
  CHECK(t.resolve(nobody)->status == ResolutionStatus::Refused);
  CHECK(t.net.count(kSpokeANbma, PacketType::ResolutionRequest) == 3);
  CHECK(t.net.loop.now() - t0 == 30s);
}

TEST_CASE("resolution: no answer: retransmitted with the same ID at 1, 2, 4, 7 s, then a timeout at 30 s") {
  TwoSpokes t;
  t.net.fabric.set_link_down(kHub1Nbma);
  const MonotonicTime t0 = t.net.loop.now();
  std::optional<ResolutionResult> result;
  t.a.nhc->resolve(kSpokeBProtocol, [&](const ResolutionResult& r) { result = r; });
  t.net.advance(29s);
  CHECK_FALSE(result.has_value());
  t.net.advance(1s);
  REQUIRE(result.has_value());
  CHECK(result->status == ResolutionStatus::Timeout);
  CHECK(result->error == "no reply after 7 attempts");

  auto requests = t.net.sent(kSpokeANbma, PacketType::ResolutionRequest);
  std::vector<Duration> at;
  for (const WireRecord& r : requests) {
    at.push_back(r.at - t0);
    CHECK(r.packet.request_id == requests[0].packet.request_id);
  }
  const std::vector<Duration> expected = {0s, 1s, 3s, 7s, 14s, 21s, 28s};
  CHECK(at == expected);
  CHECK(t.a.nhc->resolution().outstanding() == 0);
  // A timeout is not a negative answer.
  CHECK(t.a.nhc->resolution().negative_cache().size() == 0);
}

TEST_CASE("resolution: requests for one target are coalesced; the outstanding cap holds") {
  TwoSpokes t([](NhcConfig& config) { config.max_outstanding_resolutions = 2; });
  t.net.fabric.set_link_down(kHub1Nbma);
  std::vector<ResolutionResult> results;
  auto collect = [&](const ResolutionResult& r) { results.push_back(r); };
  t.a.nhc->resolve(kSpokeBProtocol, collect);
  t.a.nhc->resolve(kSpokeBProtocol, collect);
  t.a.nhc->resolve(ip("10.0.0.50"), collect);
  t.a.nhc->resolve(ip("10.0.0.51"), collect);  // a third target: over the cap
  t.net.run();
  CHECK(t.net.count(kSpokeANbma, PacketType::ResolutionRequest) == 2);
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == ResolutionStatus::TooManyOutstanding);
  CHECK(results[0].target == ip("10.0.0.51"));

  t.net.fabric.set_link_up(kHub1Nbma);
  t.net.advance(1s);  // the retransmission gets through
  REQUIRE(results.size() == 4);
  CHECK(results[1].ok());
  CHECK(results[2].ok());
  CHECK(results[1].nbma == kSpokeBNbma);
  CHECK(results[2].nbma == kSpokeBNbma);
  CHECK(results[3].status == ResolutionStatus::Refused);
}

TEST_CASE("resolution: an Error Indication quoting the request ends it at once") {
  TwoSpokes t;
  // The hub now requires a password A does not send: its next request
  // draws Error Indication 11 (authentication failure).
  hub::NhsConfig config = t.hub.server->config();
  config.auth_password = "secret";
  t.hub.server->reconfigure(config);
  auto result = t.resolve(kSpokeBProtocol);
  REQUIRE(result.has_value());
  CHECK(result->status == ResolutionStatus::ErrorIndication);
  CHECK(result->error_code == nhrp::ErrorCode::AuthenticationFailure);
  CHECK(t.net.count(kSpokeANbma, PacketType::ResolutionRequest) == 1);
  CHECK(t.net.count(kHub1Nbma, PacketType::ErrorIndication) == 1);
  CHECK(t.a.nhc->resolution().negative_cache().size() == 0);
}

TEST_CASE("resolution: Error Indication 6 (protocol address unreachable) is negative-cached") {
  TwoSpokes t;
  RawStation& router = t.net.add_station(ip("203.0.113.9"));
  t.net.fabric.set_link_down(kHub1Nbma);  // the hub stays silent; a router on the path reports
  std::optional<ResolutionResult> result;
  const IpAddress target = ip("10.9.9.9");
  t.a.nhc->resolve(target, [&](const ResolutionResult& r) { result = r; });
  t.net.run();
  auto requests = t.net.sent(kSpokeANbma, PacketType::ResolutionRequest);
  REQUIRE(requests.size() == 1);

  nhrp::ErrorIndicationSpec spec;
  spec.sender = {router.nbma, ip("10.0.0.200"), nhrp::Dialect::Cisco, std::nullopt};
  spec.code = nhrp::ErrorCode::ProtocolAddressUnreachable;
  spec.offending = requests[0].bytes;
  spec.offending_source = kSpokeAProtocol;
  router.send(kSpokeANbma, nhrp::build_error_indication(spec));
  t.net.run();
  REQUIRE(result.has_value());
  CHECK(result->status == ResolutionStatus::ErrorIndication);
  CHECK(result->error_code == nhrp::ErrorCode::ProtocolAddressUnreachable);
  CHECK(t.a.nhc->resolution().negative_cache().size() == 1);

  // An indication quoting an ID nobody waits for is counted and ignored.
  router.send(kSpokeANbma, nhrp::build_error_indication(spec));
  t.net.run();
  CHECK(t.a.nhc->stats().error_count("error indication for no request") == 1);
}

}  // namespace
}  // namespace advpnd::spoke::testing
