// parse_ike_sas (vici/sa_list.h) on events shaped as charon 5.9.8 sends
// them (fields copied from `swanctl --list-sas --pretty` in the namespace
// lab), an updown event, and the older child-section naming.
#include "vici/sa_list.h"
#include "vici/sa_watcher.h"

#include <doctest/doctest.h>

namespace {

using namespace advpnd::vici;

Section child_section(const std::string& name, const std::string& state) {
  Section child;
  child.add("name", name).add("uniqueid", "1").add("reqid", "1").add("state", state).add("mode", "TUNNEL");
  child.add("protocol", "ESP").add("encap", "yes").add("spi-in", "38b5c178").add("spi-out", "d92306b1");
  child.add("bytes-in", "1200").add("packets-in", "10").add("use-in", "3");
  child.add("bytes-out", "2400").add("packets-out", "20").add("use-out", "1");
  child.add("rekey-time", "3397").add("life-time", "3960").add("install-time", "0");
  child.add_list("local-ts", {"192.0.2.1/32[gre]"}).add_list("remote-ts", {"192.0.2.2/32[gre]"});
  return child;
}

Message list_sa_event() {
  Section ike;
  ike.add("uniqueid", "7").add("version", "2").add("state", "ESTABLISHED");
  ike.add("local-host", "192.0.2.1").add("local-port", "4500").add("local-id", "192.0.2.1");
  ike.add("remote-host", "192.0.2.2").add("remote-port", "4500").add("remote-id", "192.0.2.2");
  ike.add("initiator", "yes").add("nat-remote", "yes").add("nat-any", "yes").add("established", "0");
  ike.add_section("child-sas", Section().add_section("gre-1", child_section("gre", "INSTALLED")));
  Message event;
  event.add_section("advpnd-192.0.2.2", ike);
  return event;
}

TEST_CASE("sa_list: a list-sa event with one installed CHILD_SA") {
  const auto sas = parse_ike_sas(list_sa_event());
  REQUIRE(sas.size() == 1);
  const IkeSa& sa = sas[0];
  CHECK(sa.name == "advpnd-192.0.2.2");
  CHECK(sa.unique_id == 7);
  CHECK(sa.state == "ESTABLISHED");
  CHECK(sa.local_host == "192.0.2.1");
  CHECK(sa.remote_host == "192.0.2.2");
  REQUIRE(sa.children.size() == 1);
  const ChildSa& child = sa.children[0];
  CHECK(child.name == "gre");
  CHECK(child.installed());
  CHECK(child.mode == "TUNNEL");
  CHECK(child.bytes_in == 1200);
  CHECK(child.bytes_out == 2400);
  CHECK(child.packets_in == 10);
  CHECK(child.packets_out == 20);
  CHECK(child.use_in == 3);
  CHECK(child.use_out == 1);
  CHECK(sa.has_installed_child("gre"));
  CHECK_FALSE(sa.has_installed_child("other"));
}

TEST_CASE("sa_list: child-updown carries 'up' beside the IKE_SA section") {
  Message event;
  event.add("up", "yes");
  const Message listed = list_sa_event();
  for (const auto& entry : listed.entries()) event.add_section(entry.name, entry.section);
  const auto sas = parse_ike_sas(event);
  REQUIRE(sas.size() == 1);
  CHECK(sas[0].name == "advpnd-192.0.2.2");
  CHECK(event.find_bool("up"));
}

TEST_CASE("sa_list: absent counters and use times, older child naming, a connecting SA") {
  Section child;
  child.add("state", "INSTALLED");  // no name key: older releases keyed the section by name
  Section ike;
  ike.add("state", "CONNECTING");
  ike.add_section("child-sas", Section().add_section("gre", child));
  Message event;
  event.add_section("advpnd-2001:db8::2", ike);
  event.add_section("half-open", Section().add("state", "CONNECTING"));
  const auto sas = parse_ike_sas(event);
  REQUIRE(sas.size() == 2);
  REQUIRE(sas[0].children.size() == 1);
  CHECK(sas[0].children[0].name == "gre");
  CHECK(sas[0].children[0].bytes_in == 0);
  CHECK_FALSE(sas[0].children[0].use_in.has_value());
  CHECK(sas[0].has_installed_child("gre"));
  CHECK(sas[1].children.empty());
  CHECK_FALSE(sas[1].has_installed_child("gre"));
}

TEST_CASE("sa_list: a CHILD_SA being rekeyed or deleted is not 'installed'") {
  Section ike;
  ike.add_section("child-sas", Section()
                                   .add_section("gre-1", child_section("gre", "REKEYED"))
                                   .add_section("gre-2", child_section("gre", "DELETING")));
  Message event;
  event.add_section("c", ike);
  const auto sas = parse_ike_sas(event);
  REQUIRE(sas.size() == 1);
  CHECK(sas[0].children.size() == 2);
  CHECK_FALSE(sas[0].has_installed_child("gre"));
}

}  // namespace

TEST_CASE("sa_list: a child's remote selector names a NATted peer's own address") {
  ChildSa child;
  child.remote_ts = {"198.51.100.3/32[gre]"};
  CHECK(child.remote_ts_is_host("198.51.100.3"));
  CHECK_FALSE(child.remote_ts_is_host("198.51.100.30"));  // a prefix of the text is not the address
  CHECK_FALSE(child.remote_ts_is_host("198.51.100"));
  child.remote_ts = {"198.51.100.0/24[gre]"};  // a subnet is not one peer
  CHECK_FALSE(child.remote_ts_is_host("198.51.100.0"));
  child.remote_ts = {"2001:db8::3/128"};
  CHECK(child.remote_ts_is_host("2001:db8::3"));
}

// Issue #12 part 2: what the hub's SaWatcher keeps of an IKE_SA.
TEST_CASE("sa_list: the peer's identity, port and NAT, and the hub's IpsecPeer of an IKE_SA") {
  auto sas = parse_ike_sas(list_sa_event());
  REQUIRE(sas.size() == 1);
  CHECK(sas[0].remote_id == "192.0.2.2");
  CHECK(sas[0].remote_port == 4500);
  CHECK(sas[0].nat_remote);
  const auto peer = to_peer(sas[0]);
  REQUIRE(peer.has_value());
  CHECK(peer->ike_sa == 7);
  CHECK(peer->identity == "192.0.2.2");
  CHECK(peer->ike_address == *advpnd::IpAddress::parse("192.0.2.2"));
  CHECK(peer->ike_port == 4500);
  CHECK(peer->behind_nat);
  REQUIRE(peer->inner_sources.size() == 1);  // the host selector 192.0.2.2/32[gre]
  CHECK(peer->inner_sources[0] == *advpnd::IpAddress::parse("192.0.2.2"));

  sas[0].children[0].remote_ts = {"0.0.0.0/0[gre]", "198.51.100.3/32[gre]"};
  const auto wide = to_peer(sas[0]);
  REQUIRE(wide.has_value());
  REQUIRE(wide->inner_sources.size() == 1);  // a selector wider than a host speaks for nobody
  CHECK(wide->inner_sources[0] == *advpnd::IpAddress::parse("198.51.100.3"));

  sas[0].state = "CONNECTING";  // not yet authenticated: no peer
  CHECK_FALSE(to_peer(sas[0]).has_value());
  sas[0].state = "ESTABLISHED";
  sas[0].remote_host = "not an address";
  CHECK_FALSE(to_peer(sas[0]).has_value());
}
