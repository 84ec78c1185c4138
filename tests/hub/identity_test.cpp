// Trust, part 2 (issue #12): registrations bound to the IPsec identity. The
// hub is given an IpsecPeerTable (base/ipsec_peers.h) filled by hand, as the
// VICI watcher (vici/sa_watcher.h) fills it from charon: NHRP from a source
// with no established IKE_SA is dropped and counted; a registration outside
// its identity's policy is refused with CIE code 4 (RFC 2332 5.2.0.1),
// audited naming the identity (and the holder's), counted, logged.
#include "base/ipsec_peers.h"
#include "tests/hub/hub_fixture.h"

namespace advpnd::hub::testing {
namespace {

using nhrp::CieCode;

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

IpsecPeer peer(std::uint64_t id, std::string identity, const Spoke& spoke) {
  IpsecPeer p;
  p.ike_sa = id;
  p.identity = std::move(identity);
  p.ike_address = spoke.outer;
  p.ike_port = 500;
  return p;
}

// A hub that follows "charon": kSpokeA and kSpokeB are up with their own
// overlay addresses as identities (what the lab's certificates name).
struct IdentityFixture {
  explicit IdentityFixture(NhsConfig config = hub_config()) : f(std::move(config)) {
    f.hub->set_ipsec_peers(&peers);
    peers.upsert(peer(1, "10.0.0.2", kSpokeA));
    peers.upsert(peer(2, "10.0.0.3", kSpokeB));
  }
  HubFixture f;
  IpsecPeerTable peers;
};

std::vector<db::AuditEvent> refusals(HubFixture& f) {
  std::vector<db::AuditEvent> out;
  for (const db::AuditEvent& e : f.audit()) {
    if (e.kind == db::AuditKind::Refused) out.push_back(e);
  }
  return out;
}

nhrp::Packet register_lan(HubFixture& f, const Spoke& spoke, const IpAddress& lan, std::uint8_t length) {
  nhrp::Packet request = nhrp::build_registration_request(registration(spoke, f.next_id++, 600, false));
  nhrp::Cie cie = request.cies.at(0);
  cie.protocol = lan;
  cie.prefix_length = length;
  request.cies.push_back(cie);
  f.receive(spoke, request);
  f.end_batch();
  return f.take_one();
}

TEST_CASE("identity: NHRP from a source without an established IKE_SA is dropped, unanswered and counted") {
  IdentityFixture t;
  t.f.receive(kSpokeC, nhrp::build_registration_request(registration(kSpokeC, 7)));
  t.f.receive(kSpokeC, nhrp::build_resolution_request(resolution(kSpokeC, kSpokeA.protocol, 8)));
  t.f.end_batch();
  CHECK(t.f.transport.sent.empty());
  CHECK(t.f.hub->cache().size() == 0);
  CHECK(t.f.hub->stats().refused_no_sa == 2);
  CHECK(t.f.audit().empty());  // a flood must not turn into disk writes
  CHECK(t.f.logs.count(log::Level::Warning, "dropped NHRP from 198.51.100.4: no established IKE_SA") == 1);

  // Its SA comes up: the same request is answered.
  t.peers.upsert(peer(3, "10.0.0.4", kSpokeC));
  CHECK(t.f.register_spoke(kSpokeC).cies.at(0).code == CieCode::Success);
  // And goes down again (ike-updown down): dropped again.
  t.peers.remove(3);
  t.f.receive(kSpokeC, nhrp::build_registration_request(registration(kSpokeC, 9)));
  t.f.end_batch();
  CHECK(t.f.transport.sent.empty());
  CHECK(t.f.hub->stats().refused_no_sa == 3);
}

TEST_CASE("identity: a spoke registers the address its identity names, and the binding records the identity") {
  IdentityFixture t;
  CHECK(t.f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
  const db::Binding* binding = t.f.cached(kSpokeA);
  REQUIRE(binding != nullptr);
  CHECK(binding->identity == "10.0.0.2");
  // In the store, not only the cache: what a restarted hub loads.
  const auto stored = t.f.store.load_unexpired(0);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 1);
  CHECK(stored->at(0).identity == "10.0.0.2");
  CHECK(t.f.hub->stats().refused_identity == 0);
}

TEST_CASE("identity: an address held by another identity is refused, naming both identities") {
  for (const bool overwrite : {false, true}) {
    CAPTURE(overwrite);
    NhsConfig config = hub_config();
    config.unique_overwrite = overwrite;  // FRR interop: the attack took a live address this way
    IdentityFixture t(config);
    REQUIRE(t.f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);

    // kSpokeB (identity 10.0.0.3), through its own SA, claims 10.0.0.2.
    const Spoke thief = station(kSpokeB.nbma, kSpokeA.protocol, kSpokeB.outer);
    const nhrp::Packet reply = t.f.register_spoke(thief);
    CHECK(reply.cies.at(0).code == CieCode::AdministrativelyProhibited);
    CHECK(reply.cies.at(0).holding_time == 0);
    CHECK(t.f.hub->stats().refused_identity == 1);
    const db::Binding* binding = t.f.cached(kSpokeA);
    REQUIRE(binding != nullptr);  // untouched
    CHECK(binding->key.nbma == kSpokeA.nbma);
    CHECK(t.f.hub->cache().size() == 1);
    const auto rows = refusals(t.f);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].protocol == kSpokeA.protocol);
    CHECK(rows[0].post_nat_nbma == kSpokeB.outer);
    CHECK(contains(rows[0].reason, "identity \"10.0.0.3\""));
    CHECK(contains(rows[0].reason, "held by identity \"10.0.0.2\""));
    CHECK(t.f.logs.count(log::Level::Info, "(identity \"10.0.0.3\")") == 1);
  }
}

TEST_CASE("identity: the address stays refused after its holder stopped and its binding is gone") {
  IdentityFixture t;
  REQUIRE(t.f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
  REQUIRE(t.f.hub->clear_registration(kSpokeA.protocol).ok());  // a clean stop purges it
  t.peers.remove(1);                                            // and its SA goes
  REQUIRE(t.f.hub->cache().size() == 0);

  const Spoke thief = station(kSpokeB.nbma, kSpokeA.protocol, kSpokeB.outer);
  CHECK(t.f.register_spoke(thief).cies.at(0).code == CieCode::AdministrativelyProhibited);
  CHECK(t.f.hub->cache().size() == 0);
  const auto rows = refusals(t.f);
  REQUIRE(rows.size() == 1);
  CHECK(contains(rows[0].reason, "10.0.0.2 is not an address of identity \"10.0.0.3\""));
  CHECK(!contains(rows[0].reason, "held by"));
}

TEST_CASE("identity: a CIE for another address is refused even when the request's own address is right") {
  IdentityFixture t;
  nhrp::Packet request = nhrp::build_registration_request(registration(kSpokeB, 40, 600, false));
  request.cies.at(0).protocol = ip("10.0.0.9");
  t.f.receive(kSpokeB, request);
  t.f.end_batch();
  CHECK(t.f.take_one().cies.at(0).code == CieCode::AdministrativelyProhibited);
  CHECK(t.f.hub->stats().refused_identity == 1);
  CHECK(t.f.hub->cache().size() == 0);
}

TEST_CASE("identity: LAN prefixes only inside the identity's [[policy]] prefixes") {
  NhsConfig config = hub_config();
  IdentityPolicy policy;
  policy.identity = "10.0.0.2";
  policy.prefixes.push_back({ip("192.168.7.0"), 24});
  config.identity_policies.push_back(policy);
  IdentityFixture t(config);

  nhrp::Packet reply = register_lan(t.f, kSpokeA, ip("192.168.7.0"), 24);
  CHECK(reply.cies.at(0).code == CieCode::Success);  // its own address
  CHECK(reply.cies.at(1).code == CieCode::Success);
  CHECK(register_lan(t.f, kSpokeA, ip("192.168.7.128"), 25).cies.at(1).code == CieCode::Success);  // inside
  CHECK(register_lan(t.f, kSpokeA, ip("192.168.0.0"), 16).cies.at(1).code ==
        CieCode::AdministrativelyProhibited);  // covers it: wider than the policy
  CHECK(register_lan(t.f, kSpokeA, ip("192.168.8.0"), 24).cies.at(1).code == CieCode::AdministrativelyProhibited);
  // kSpokeB has no policy entry: no LAN at all, not even a free one.
  CHECK(register_lan(t.f, kSpokeB, ip("192.168.9.0"), 24).cies.at(1).code == CieCode::AdministrativelyProhibited);
  CHECK(t.f.hub->stats().refused_identity == 3);
  const auto rows = refusals(t.f);
  REQUIRE(rows.size() == 3);
  CHECK(contains(rows[0].reason, "LAN prefix 192.168.0.0/16 is not in a [[policy]] prefix of identity \"10.0.0.2\""));
  CHECK(contains(rows[2].reason, "identity \"10.0.0.3\""));
}

TEST_CASE("identity: a non-IP identity registers only the addresses its [[policy]] lists, up to max_bindings") {
  NhsConfig config = hub_config();
  IdentityPolicy policy;
  policy.identity = "CN=spoke-a.example.net";
  policy.addresses = {kSpokeA.protocol, ip("10.0.0.20")};
  policy.max_bindings = 1;
  config.identity_policies.push_back(policy);
  IdentityFixture t(config);
  t.peers.upsert(peer(1, "CN=spoke-a.example.net", kSpokeA));

  CHECK(t.f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
  CHECK(t.f.cached(kSpokeA)->identity == "CN=spoke-a.example.net");
  // Listed, but past its max_bindings of 1.
  const Spoke second = station(kSpokeA.nbma, ip("10.0.0.20"), kSpokeA.outer);
  CHECK(t.f.register_spoke(second).cies.at(0).code == CieCode::AdministrativelyProhibited);
  CHECK(t.f.hub->stats().refused_spoke_limit == 1);
  // Not listed at all.
  const Spoke third = station(kSpokeA.nbma, ip("10.0.0.21"), kSpokeA.outer);
  CHECK(t.f.register_spoke(third).cies.at(0).code == CieCode::AdministrativelyProhibited);
  CHECK(t.f.hub->stats().refused_identity == 1);
}

TEST_CASE("identity: a NATted spoke is found by the host selector its decrypted GRE comes from") {
  IdentityFixture t;
  // IKE runs to the NAT's public address; kernel-libipsec hands the hub the
  // inner packet, whose source is the spoke's own (private) address.
  IpsecPeer natted = peer(5, "10.0.0.5", kNatted);
  natted.ike_address = ip("203.0.113.99");
  natted.behind_nat = true;
  natted.inner_sources = {kNatted.outer};
  t.peers.upsert(natted);
  CHECK(t.f.register_spoke(kNatted).cies.at(0).code == CieCode::Success);
  CHECK(t.f.cached(kNatted)->identity == "10.0.0.5");
}

TEST_CASE("identity: a source two identities claim is ambiguous and dropped") {
  IdentityFixture t;
  IpsecPeer wide = peer(6, "10.0.0.66", kSpokeC);
  wide.inner_sources = {kSpokeA.outer};  // 10.0.0.66's SA says it carries GRE from kSpokeA
  t.peers.upsert(wide);
  t.f.receive(kSpokeA, nhrp::build_registration_request(registration(kSpokeA, 50)));
  t.f.end_batch();
  CHECK(t.f.transport.sent.empty());
  CHECK(t.f.hub->stats().refused_no_sa == 1);
  t.peers.remove(6);
  CHECK(t.f.register_spoke(kSpokeA).cies.at(0).code == CieCode::Success);
}

}  // namespace
}  // namespace advpnd::hub::testing
