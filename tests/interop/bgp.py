#!/usr/bin/env python3
"""Interop scenario 6 (issue #11): an FRR spoke that registers only its /32 and announces its LAN
by BGP, under an advpnd hub; an advpnd spoke reaches that LAN through the hub, then by a shortcut.

  192.0.2.1   advpnd hub      10.0.0.1   (namespace; FRR zebra + bgpd next to it: iBGP route
                                          reflector for 10.0.0.0/24, so the LAN's route has the
                                          FRR spoke's overlay address as next hop)
  192.0.2.11  FRR spoke s1    10.0.0.11  (guest: kernel mGRE, nhrpd, bgpd announcing its LAN
                                          192.168.11.0/24 on a dummy device)
  192.0.2.21  advpnd spoke    10.0.0.21  (namespace, provider none: clear GRE; 192.168.0.0/16
                                          into its overlay device)

Checks: s1's registration is its /32 only; the hub learns 192.168.11.0/24 by BGP with next hop
10.0.0.11 and forwards the advpnd spoke's first packets there by that route (a hair-pin, counted
by_kernel_route); the hub redirects, forwards the spoke's resolution along the same route to
FRR (RFC 2332 5.3), FRR answers for its LAN, the advpnd spoke's shortcut to s1's NBMA comes up
and the traffic stops crossing the hub.
"""
import interop_common as C
from interop_common import L, check, eventually

HUB_BGP = """frr defaults traditional
hostname hub
router bgp 65000
 bgp router-id 10.0.0.1
 neighbor SPOKES peer-group
 neighbor SPOKES remote-as 65000
 neighbor SPOKES timers 3 9
 bgp listen range 10.0.0.0/24 peer-group SPOKES
 address-family ipv4 unicast
  neighbor SPOKES route-reflector-client
 exit-address-family
"""

SPOKE_BGP = """frr defaults traditional
hostname s1
log file /var/log/frr/bgpd.log informational
router bgp 65000
 bgp router-id 10.0.0.11
 neighbor 10.0.0.1 remote-as 65000
 neighbor 10.0.0.1 timers 3 9
 address-family ipv4 unicast
  network 192.168.11.0/24
 exit-address-family
"""


def scenario(lab: L.Lab) -> None:
    hub_ns = lab.add_host("hub", "192.0.2.1")
    sp_ns = lab.add_host("sp", "192.0.2.21")
    s1 = lab.add_guest("s1", L.FrrNode(nbma="192.0.2.11", overlay="10.0.0.11", nhs_nbma="192.0.2.1",
                                       lan="192.168.11.1/24", bgpd=SPOKE_BGP))
    hub = lab.hub("hub", hub_ns, "192.0.2.1", dialect=C.ARGS.dialect)
    L.log(f"boot times: {lab.boot()}")
    vty = lab.frr("hub", hub_ns, HUB_BGP)
    sp = lab.spoke("sp", sp_ns, "192.0.2.21", "10.0.0.21", hub_nbma="192.0.2.1", dialect=C.ARGS.dialect,
                   extra='[routing]\noverlay_routes = ["192.168.0.0/16"]   # the LANs behind other spokes\n')

    # --- s1 registers its /32 only; its LAN reaches the hub by BGP ------------------------------
    reg = eventually("s1 (10.0.0.11) registered at the advpnd hub", lambda: C.registration(hub, "10.0.0.11"),
                     timeout=30)
    check(reg["prefix_len"] == 32 and reg["nbma"] == "192.0.2.11", "s1's registration is 10.0.0.11/32", reg)
    eventually("the advpnd spoke's NHS is up", lambda: sp.ctl("show", "nhs").get("up") == 1, timeout=30)

    def hub_route():
        out = L.sh(["ip", "-n", hub_ns, "-4", "route", "show", "192.168.11.0/24", "proto", "bgp"],
                   check=False).stdout
        return out if "via 10.0.0.11" in out else None
    route = eventually("the hub's kernel has 192.168.11.0/24 via 10.0.0.11 from BGP", hub_route, timeout=60,
                       interval=1)
    L.log(f"hub route: {route.strip()}")
    registrations = hub.ctl("show", "registrations")["registrations"]
    check(not [r for r in registrations if r["protocol"].startswith("192.168.")],
          "no LAN prefix is registered: the LAN is known by routing only", registrations)

    # --- through the hub first, by the BGP route -----------------------------------------------
    before = C.hub_stats(hub)["dataplane"]
    out = L.ping(sp, "192.168.11.1", count=3)
    check(L.received(out) >= 2, "advpnd spoke -> s1's LAN (192.168.11.1) through the hub", out)
    after = C.hub_stats(hub)["dataplane"]
    check(after["by_kernel_route"] > before["by_kernel_route"] and after["hairpinned"] > before["hairpinned"],
          "the hub forwarded the spoke's packets by its BGP route (a hair-pin)", (before, after))

    # --- then the shortcut: resolution along the route, FRR answers for its LAN ----------------
    def shortcut():
        L.ping(sp, "192.168.11.1", count=1)
        return C.shortcut_to(sp, "192.0.2.11")
    sc = eventually("advpnd spoke: active shortcut to s1 (192.0.2.11) for its LAN", shortcut, timeout=40,
                    interval=1)
    L.log(f"shortcut: {sc}")
    check(sc["prefix"] in ("192.168.11.0/24", "192.168.11.1/32"), "the shortcut covers s1's LAN", sc)
    stats = C.hub_stats(hub)
    L.log(f"hub errors: {stats.get('errors')}")

    def hub_quiet():
        h0 = C.hairpins(hub)
        ok = L.received(L.ping(sp, "192.168.11.1", count=5)) >= 4
        return ok and C.hairpins(hub) == h0
    eventually("advpnd spoke -> s1's LAN no longer crosses the hub", hub_quiet, timeout=30, interval=1)
    sc = C.shortcut_to(sp, "192.0.2.11")
    check(sc["bytes_out"] > 0 and sc["bytes_in"] > 0, "the shortcut carried the traffic both ways", sc)
    s1.save("bgpd.log", s1.run("cat /var/log/frr/bgpd.log"))
    L.log(f"hub BGP: {L.sh(['ip', 'netns', 'exec', hub_ns, 'vtysh', '--vty_socket', vty, '-c', 'show bgp summary'], check=False).stdout}")


if __name__ == "__main__":
    C.run("interop_bgp", scenario)
