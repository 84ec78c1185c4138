// Trust, part 1 (issue #12): the hub's limits and address policy for
// registrations. Every refusal is CIE code 4, Administratively Prohibited
// (RFC 2332 5.2.0.1), with holding time 0, counted and audited; the rate
// limit still answers code 5 and writes nothing.
#include <algorithm>

#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;

struct Claim {
  IpAddress protocol;
  std::uint8_t prefix = 32;
  IpAddress nbma{};  // empty: the request's source NBMA
};

// A Registration Request from `spoke` with one CIE per claim.
nhrp::Packet request_with(const Spoke& spoke, std::uint32_t id, const std::vector<Claim>& claims,
                          std::uint16_t holding_time = 600) {
  nhrp::Packet request = nhrp::build_registration_request(registration(spoke, id, holding_time, false));
  const nhrp::Cie model = request.cies.at(0);
  request.cies.clear();
  for (const Claim& claim : claims) {
    nhrp::Cie cie = model;
    cie.protocol = claim.protocol;
    cie.prefix_length = claim.prefix;
    if (!claim.nbma.empty()) cie.nbma = claim.nbma;
    request.cies.push_back(cie);
  }
  return request;
}

nhrp::Packet send_claims(HubFixture& f, const Spoke& spoke, const std::vector<Claim>& claims,
                         std::uint16_t holding_time = 600) {
  f.receive(spoke, request_with(spoke, f.next_id++, claims, holding_time));
  f.end_batch();
  return f.take_one();
}

Claim lan(std::uint8_t third, std::uint8_t prefix = 24) { return {IpAddress::v4(192, 168, third, 0), prefix}; }

std::vector<db::AuditEvent> refusals(HubFixture& f) {
  std::vector<db::AuditEvent> out;
  for (const db::AuditEvent& e : f.audit()) {
    if (e.kind == db::AuditKind::Refused) out.push_back(e);
  }
  return out;
}

void check_prohibited(const nhrp::Cie& cie) {
  CHECK(cie.code == CieCode::AdministrativelyProhibited);
  CHECK(static_cast<int>(cie.code) == 4);  // RFC 2332 5.2.0.1
  CHECK(cie.holding_time == 0);
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// ---- 1. CIEs per request ----------------------------------------------------

TEST_CASE("trust: a request with max_cies_per_request CIEs is accepted, one more refuses it as a whole") {
  HubFixture f;
  std::vector<Claim> eight{{kSpokeA.protocol}};
  for (std::uint8_t i = 1; i < 8; ++i) eight.push_back(lan(static_cast<std::uint8_t>(10 + i)));
  nhrp::Packet reply = send_claims(f, kSpokeA, eight);
  REQUIRE(reply.cies.size() == 8);
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);
  CHECK(f.hub->cache().size() == 8);
  CHECK(f.hub->stats().refused_oversize == 0);

  std::vector<Claim> nine{{kSpokeB.protocol}};
  for (std::uint8_t i = 1; i < 9; ++i) nine.push_back(lan(static_cast<std::uint8_t>(30 + i)));
  reply = send_claims(f, kSpokeB, nine);
  REQUIRE(reply.cies.size() == 9);
  for (const nhrp::Cie& cie : reply.cies) check_prohibited(cie);
  CHECK(f.hub->cache().size() == 8);  // not one of them
  CHECK(f.hub->stats().refused_oversize == 1);
  const auto rows = refusals(f);
  REQUIRE(rows.size() == 1);  // one row for the request, not one per CIE
  CHECK(rows[0].nbma == kSpokeB.nbma);
  CHECK(rows[0].protocol == kSpokeB.protocol);
  CHECK(contains(rows[0].reason, "9 CIEs in one request, more than max_cies_per_request 8"));
  CHECK(f.logs.count(log::Level::Info, "max_cies_per_request") == 1);
}

TEST_CASE("trust: oversized requests in a flood are logged and audited at the source's rate") {
  NhsConfig config = hub_config();
  config.max_cies_per_request = 2;
  config.registration_rate = {0.001, 3.0};
  HubFixture f(config);
  for (int i = 0; i < 10; ++i) {
    f.receive(kSpokeA, request_with(kSpokeA, f.next_id++, {{kSpokeA.protocol}, lan(1), lan(2)}));
  }
  f.end_batch();
  const auto replies = f.take_sent();
  REQUIRE(replies.size() == 10);
  for (const nhrp::Packet& reply : replies) {
    REQUIRE(reply.cies.size() == 3);
    for (const nhrp::Cie& cie : reply.cies) check_prohibited(cie);
  }
  CHECK(f.hub->stats().refused_oversize == 10);
  CHECK(refusals(f).size() == 3);                                      // the bucket's three tokens
  CHECK(f.logs.count(log::Level::Info, "max_cies_per_request") == 1);  // throttled
  CHECK(f.hub->cache().size() == 0);
}

// ---- 2. The rate limit counts CIEs -------------------------------------------

TEST_CASE("trust: the registration rate limit takes one token per CIE, all or none") {
  NhsConfig config = hub_config();
  config.registration_rate = {0.001, 4.0};
  HubFixture f(config);
  nhrp::Packet reply = send_claims(f, kSpokeA, {{kSpokeA.protocol}, lan(1), lan(2)});  // 3 of 4 tokens
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);

  reply = send_claims(f, kSpokeA, {lan(3), lan(4)});  // needs 2, 1 left: refused, the token stays
  REQUIRE(reply.cies.size() == 2);
  for (const nhrp::Cie& cie : reply.cies) {
    CHECK(cie.code == CieCode::InsufficientResources);
    CHECK(cie.holding_time == 0);
  }
  CHECK(f.hub->stats().refused_rate == 2);
  CHECK(f.hub->stats().error_count("registration rate limited") == 1);
  CHECK(refusals(f).empty());  // a flood does not turn into disk writes

  reply = send_claims(f, kSpokeA, {lan(3)});  // the one token left
  CHECK(reply.cies.at(0).code == CieCode::Success);
  CHECK(f.hub->cache().size() == 4);

  // Another source has its own bucket.
  reply = send_claims(f, kSpokeB, {{kSpokeB.protocol}, lan(20), lan(21), lan(22)});
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);
}

// ---- 3. Bindings per spoke ----------------------------------------------------

TEST_CASE("trust: max_bindings_per_spoke refuses a new binding, never a refresh, and not another spoke") {
  NhsConfig config = hub_config();
  config.max_bindings_per_spoke = 3;
  HubFixture f(config);
  nhrp::Packet reply = send_claims(f, kSpokeA, {{kSpokeA.protocol}, lan(1), lan(2)});
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);

  reply = send_claims(f, kSpokeA, {lan(1), lan(3)});  // a refresh and one more
  REQUIRE(reply.cies.size() == 2);
  CHECK(reply.cies[0].code == CieCode::Success);
  check_prohibited(reply.cies[1]);
  CHECK(f.hub->stats().refused_spoke_limit == 1);
  const auto rows = refusals(f);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].protocol == ip("192.168.3.0"));
  CHECK(rows[0].prefix_len == 24);
  CHECK(rows[0].post_nat_nbma == kSpokeA.outer);
  CHECK(contains(rows[0].reason, "holds max_bindings_per_spoke 3 bindings"));

  reply = send_claims(f, kSpokeA, {{kSpokeA.protocol}, lan(1), lan(2)});  // the whole set again
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);
  CHECK(f.hub->stats().refused_spoke_limit == 1);

  reply = send_claims(f, kSpokeB, {{kSpokeB.protocol}, lan(20), lan(21)});
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);
  CHECK(f.hub->cache().size() == 6);
}

TEST_CASE("trust: a binding that expires or is cleared makes room again for its spoke") {
  NhsConfig config = hub_config();
  config.max_bindings_per_spoke = 2;
  HubFixture f(config);
  (void)send_claims(f, kSpokeA, {{kSpokeA.protocol}, lan(1)}, 600);
  check_prohibited(send_claims(f, kSpokeA, {lan(2)}).cies.at(0));
  REQUIRE(f.hub->clear_registration(ip("192.168.1.0")).ok());
  CHECK(send_claims(f, kSpokeA, {lan(2)}).cies.at(0).code == CieCode::Success);
}

TEST_CASE("trust: one spoke flooding CIEs cannot exhaust max_registrations") {
  NhsConfig config = hub_config();
  config.max_registrations = 40;
  config.registration_rate = {1e6, 1e6};
  HubFixture f(config);
  // Different claimed NBMAs in every CIE change nothing: the limit counts
  // what the hub hears a spoke from (its outer, post-NAT address).
  std::uint32_t n = 0;
  for (int request = 0; request < 20; ++request) {
    std::vector<Claim> claims;
    for (int i = 0; i < 8; ++i, ++n) {
      claims.push_back({IpAddress::v4(172, 16, static_cast<std::uint8_t>(n), 0), 24,
                        IpAddress::v4(198, 18, 0, static_cast<std::uint8_t>(n))});
    }
    f.receive(kSpokeA, request_with(kSpokeA, f.next_id++, claims));
  }
  f.end_batch();
  std::size_t accepted = 0;
  for (const nhrp::Packet& reply : f.take_sent()) {
    accepted += static_cast<std::size_t>(std::count_if(reply.cies.begin(), reply.cies.end(),
                                                       [](const nhrp::Cie& c) { return c.code == CieCode::Success; }));
  }
  CHECK(accepted == 16);
  CHECK(f.hub->cache().size() == 16);
  CHECK(f.hub->stats().refused_spoke_limit == 160 - 16);

  for (const Spoke& other : {kSpokeB, kSpokeC, kNatted}) {
    CHECK(f.register_spoke(other, 600, false).cies.at(0).code == CieCode::Success);
  }
  CHECK(f.hub->cache().size() == 19);
}

// ---- 4. Address policy ----------------------------------------------------------

TEST_CASE("trust: a spoke's own address lies in the overlay subnet and is not the hub's") {
  HubFixture f;
  CHECK(f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);

  const Spoke outside = station(ip("198.51.100.30"), ip("10.0.1.5"), ip("198.51.100.30"));
  check_prohibited(f.register_spoke(outside).cies.at(0));
  const Spoke hub_address = station(ip("198.51.100.31"), kHubProtocol, ip("198.51.100.31"));
  check_prohibited(f.register_spoke(hub_address).cies.at(0));
  // A source outside with a CIE inside: the request's own address decides.
  check_prohibited(send_claims(f, outside, {{ip("10.0.0.77")}}).cies.at(0));

  CHECK(f.hub->stats().refused_policy == 3);
  const auto rows = refusals(f);
  REQUIRE(rows.size() == 3);
  CHECK(contains(rows[0].reason, "10.0.1.5 is outside the overlay subnet 10.0.0.0/24"));
  CHECK(contains(rows[1].reason, "10.0.0.1 is the hub's own address"));
  CHECK(contains(rows[2].reason, "source protocol address: 10.0.1.5 is outside the overlay subnet"));
  CHECK(f.hub->cache().size() == 1);

  NhsConfig wider = hub_config();
  wider.overlay_prefix_length = 16;
  HubFixture g(wider);
  CHECK(g.register_spoke(outside).cies.at(0).code == CieCode::Success);
}

TEST_CASE("trust: LAN prefixes are allowed by default, refused with allow_lan_prefixes = false") {
  HubFixture f;
  CHECK(send_claims(f, kSpokeA, {lan(7)}).cies.at(0).code == CieCode::Success);

  NhsConfig config = hub_config();
  config.allow_lan_prefixes = false;
  HubFixture g(config);
  const nhrp::Packet reply = send_claims(g, kSpokeA, {{kSpokeA.protocol}, lan(7)});
  CHECK(reply.cies.at(0).code == CieCode::Success);
  check_prohibited(reply.cies.at(1));
  CHECK(g.hub->stats().refused_policy == 1);
  REQUIRE(refusals(g).size() == 1);
  CHECK(contains(refusals(g)[0].reason, "LAN prefix 192.168.7.0/24 not allowed"));
}

TEST_CASE("trust: a LAN prefix overlapping the overlay subnet is refused") {
  HubFixture f;
  const nhrp::Packet reply =
      send_claims(f, kSpokeA, {{ip("10.0.0.0"), 16}, {ip("10.0.0.128"), 25}, {ip("0.0.0.0"), 1}, {ip("10.1.0.0"), 16}});
  check_prohibited(reply.cies.at(0));
  check_prohibited(reply.cies.at(1));
  check_prohibited(reply.cies.at(2));
  CHECK(reply.cies.at(3).code == CieCode::Success);  // 10.1.0.0/16 is beside 10.0.0.0/24
  CHECK(f.hub->stats().refused_policy == 3);
  CHECK(contains(refusals(f).at(0).reason, "overlaps the overlay subnet 10.0.0.0/24"));
}

TEST_CASE("trust: a prefix overlapping another spoke's is refused, naming the prefix and its holder") {
  HubFixture f;
  REQUIRE(send_claims(f, kSpokeB, {lan(1)}).cies.at(0).code == CieCode::Success);  // 192.168.1.0/24

  const nhrp::Packet reply = send_claims(f, kSpokeA,
                                         {{ip("192.168.1.0"), 25},    // inside: the diversion
                                          {ip("192.168.0.0"), 16},    // covering
                                          {ip("192.168.1.0"), 24},    // equal
                                          {ip("192.168.2.0"), 24}});  // beside: fine
  check_prohibited(reply.cies.at(0));
  check_prohibited(reply.cies.at(1));
  check_prohibited(reply.cies.at(2));
  CHECK(reply.cies.at(3).code == CieCode::Success);
  CHECK(f.hub->stats().refused_policy == 3);
  const auto rows = refusals(f);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].reason == "prefix 192.168.1.0/25 overlaps 192.168.1.0/24 held by 198.51.100.3");
  CHECK(rows[1].reason == "prefix 192.168.0.0/16 overlaps 192.168.1.0/24 held by 198.51.100.3");
  CHECK(rows[2].reason == "prefix 192.168.1.0/24 overlaps 192.168.1.0/24 held by 198.51.100.3");
  CHECK(rows[0].nbma == kSpokeA.nbma);
  // Resolutions inside B's LAN still go to B.
  const db::Binding* owner = f.hub->cache().longest_match(ip("192.168.1.5"), FakeLoop::kStartUnixSeconds);
  REQUIRE(owner != nullptr);
  CHECK(owner->key.nbma == kSpokeB.nbma);

  // The holder itself may carve its own prefix.
  CHECK(send_claims(f, kSpokeB, {{ip("192.168.1.0"), 25}}).cies.at(0).code == CieCode::Success);
}

TEST_CASE("trust: the overlap check sees batches not yet committed, and claimed NBMAs do not pass it") {
  HubFixture f;
  f.store.hold_commits(true);
  f.receive(kSpokeB, request_with(kSpokeB, 1, {lan(1)}));
  f.end_batch();  // in flight, not committed
  f.receive(kSpokeA, request_with(kSpokeA, 2, {{ip("192.168.1.128"), 25}}));
  // The same claimed NBMA as B, from A's outer address: another station.
  f.receive(kSpokeA, request_with(kSpokeA, 3, {{ip("192.168.1.0"), 26, kSpokeB.nbma}}));
  f.end_batch();
  f.store.hold_commits(false);
  f.store.release_commits();
  const auto replies = f.take_sent();
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].cies.at(0).code == CieCode::Success);
  check_prohibited(replies[1].cies.at(0));
  check_prohibited(replies[2].cies.at(0));
  CHECK(f.hub->stats().refused_policy == 2);
}

TEST_CASE("trust: an expired holder does not block the prefix") {
  HubFixture f;
  REQUIRE(send_claims(f, kSpokeB, {lan(1)}, 60).cies.at(0).code == CieCode::Success);
  check_prohibited(send_claims(f, kSpokeA, {{ip("192.168.1.0"), 25}}).cies.at(0));
  f.loop.advance(61s);
  CHECK(send_claims(f, kSpokeA, {{ip("192.168.1.0"), 25}}).cies.at(0).code == CieCode::Success);
}

// ---- 5. The same spoke ------------------------------------------------------------

TEST_CASE("trust: the same spoke refreshes and changes its own prefixes, also after its NAT mapping moved") {
  NhsConfig config = hub_config();
  config.max_bindings_per_spoke = 2;
  HubFixture f(config);
  nhrp::Packet reply = send_claims(f, kNatted, {{kNatted.protocol}, lan(50)});
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);

  Spoke moved = kNatted;
  moved.outer = ip("198.51.100.21");
  reply = send_claims(f, moved, {{kNatted.protocol}, lan(50)});
  for (const nhrp::Cie& cie : reply.cies) CHECK(cie.code == CieCode::Success);
  CHECK(f.hub->cache().size() == 2);
  REQUIRE(f.hub->cache().find({ip("192.168.50.0"), 24, kNatted.nbma}) != nullptr);
  CHECK(f.hub->cache().find({ip("192.168.50.0"), 24, kNatted.nbma})->post_nat_nbma == moved.outer);
  CHECK(f.hub->cache().count_post_nat(moved.outer) == 2);
  CHECK(f.hub->cache().count_post_nat(kNatted.outer) == 0);

  // Its own prefix, carved, after the move: its own business (the limit
  // still counts: one out, one in).
  REQUIRE(f.hub->clear_registration(ip("192.168.50.0")).ok());
  CHECK(send_claims(f, moved, {{ip("192.168.50.0"), 25}}).cies.at(0).code == CieCode::Success);
  check_prohibited(send_claims(f, moved, {lan(51)}).cies.at(0));
  CHECK(f.hub->stats().refused_spoke_limit == 1);
  CHECK(f.hub->stats().refused_policy == 0);
}

}  // namespace
}  // namespace advpnd::hub::testing
