// IpsecPeerTable (base/ipsec_peers.h): which IKE_SA stands behind a GRE
// source; host selectors index a peer, ambiguity answers nobody.
#include "base/ipsec_peers.h"

#include <doctest/doctest.h>

namespace {

using advpnd::IpAddress;
using advpnd::IpsecPeer;
using advpnd::IpsecPeerTable;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

IpsecPeer make(std::uint64_t id, const char* identity, const char* ike, std::vector<IpAddress> inner = {}) {
  IpsecPeer peer;
  peer.ike_sa = id;
  peer.identity = identity;
  peer.ike_address = ip(ike);
  peer.inner_sources = std::move(inner);
  return peer;
}

TEST_CASE("ipsec peers: found by IKE address and by host selector, gone when removed") {
  IpsecPeerTable table;
  CHECK(table.find(ip("203.0.113.11")) == nullptr);
  table.upsert(make(1, "10.0.0.11", "203.0.113.11"));
  table.upsert(make(2, "10.0.0.13", "203.0.113.13", {ip("198.51.100.3")}));  // behind NAT
  REQUIRE(table.find(ip("203.0.113.11")) != nullptr);
  CHECK(table.find(ip("203.0.113.11"))->identity == "10.0.0.11");
  REQUIRE(table.find(ip("198.51.100.3")) != nullptr);
  CHECK(table.find(ip("198.51.100.3"))->ike_sa == 2);
  CHECK(table.find(ip("203.0.113.12")) == nullptr);
  CHECK(table.peers().size() == 2);

  table.remove(2);
  CHECK(table.find(ip("198.51.100.3")) == nullptr);
  CHECK(table.find(ip("203.0.113.13")) == nullptr);
  CHECK(table.size() == 1);
  table.remove(99);  // unknown: nothing happens
  CHECK(table.size() == 1);
  table.clear();
  CHECK(table.find(ip("203.0.113.11")) == nullptr);
}

TEST_CASE("ipsec peers: an upsert replaces what was known of that IKE_SA") {
  IpsecPeerTable table;
  table.upsert(make(1, "10.0.0.11", "203.0.113.11", {ip("198.51.100.3")}));
  table.upsert(make(1, "10.0.0.11", "203.0.113.11"));
  CHECK(table.find(ip("198.51.100.3")) == nullptr);
  CHECK(table.size() == 1);
}

TEST_CASE("ipsec peers: a source two identities claim is ambiguous; two SAs of one identity are not") {
  IpsecPeerTable table;
  table.upsert(make(1, "10.0.0.11", "203.0.113.11"));
  table.upsert(make(2, "10.0.0.11", "203.0.113.11"));  // both ends initiated at once
  REQUIRE(table.find(ip("203.0.113.11")) != nullptr);
  CHECK(table.find(ip("203.0.113.11"))->identity == "10.0.0.11");

  table.upsert(make(3, "10.0.0.66", "203.0.113.66", {ip("203.0.113.11")}));  // claims another's source
  CHECK(table.find(ip("203.0.113.11")) == nullptr);
  CHECK(table.find(ip("203.0.113.66")) != nullptr);  // its own still works
  table.remove(3);
  CHECK(table.find(ip("203.0.113.11")) != nullptr);
}

}  // namespace
