#!/usr/bin/env python3
"""Interop scenario 5 with IPsec: advpnd spokes (strongswan provider, host charon with
kernel-libipsec) register through IPsec with an FRR hub whose guest charon runs kernel ESP.

  192.0.2.1   FRR hub + charon  10.0.0.1   (guest; static swanctl responder: IKEv2 PSK,
                                            tunnel mode, dynamic[gre] selectors, encap = yes)
  192.0.2.21  advpnd spoke a + charon  10.0.0.21
  192.0.2.22  advpnd spoke b + charon  10.0.0.22

What both ends agree on: tunnel mode (libipsec has no transport mode), GRE-only traffic
selectors, ESP in UDP (libipsec always encapsulates). Checks: the IKE and child SAs are up on
both sides (guest `swanctl --list-sas`, `ip xfrm state`), the spokes registered through them
(FRR cache), no clear GRE between a spoke and the hub on the bridge after the SA is up, and
the a <-> b shortcut (IPsec between the two host charons) after FRR's redirect.
"""
import subprocess

import interop_common as C
from interop_common import L, check, eventually

PSK = "interop-lab-psk-0123456789"


def scenario(lab: L.Lab) -> None:
    hub = lab.add_guest("hub", L.FrrNode(nbma="192.0.2.1", overlay="10.0.0.1", hub=True, ipsec_psk=PSK))
    a_ns = lab.add_host("a", "192.0.2.21")
    b_ns = lab.add_host("b", "192.0.2.22")
    L.log(f"boot times: {lab.boot()}")
    a_vici = lab.charon("a", a_ns)
    b_vici = lab.charon("b", b_ns)
    a = lab.spoke("a", a_ns, "192.0.2.21", "10.0.0.21", hub_nbma="192.0.2.1", vici_socket=a_vici, psk=PSK)
    b = lab.spoke("b", b_ns, "192.0.2.22", "10.0.0.22", hub_nbma="192.0.2.1", vici_socket=b_vici, psk=PSK)

    for spoke in (a, b):
        eventually(f"advpnd spoke {spoke.name}: NHS registered through IPsec",
                   lambda s=spoke: s.ctl("show", "nhs").get("up") == 1, timeout=40)
    sas = hub.run("swanctl --list-sas")
    hub.save("list-sas.txt", sas)
    check(sas.count("ESTABLISHED") >= 2 and sas.count("INSTALLED") >= 2,
          "guest charon: IKE SAs established and child SAs installed with both spokes", sas)
    check("TUNNEL-in-UDP" in sas, "the guest's child SAs are tunnel mode, ESP in UDP (libipsec's encapsulation)", sas)
    xfrm = hub.run("ip xfrm state")
    check("espinudp" in xfrm and "proto esp" in xfrm, "guest kernel holds ESP-in-UDP states (kernel ESP)", xfrm)
    for proto, nbma in (("10.0.0.21", "192.0.2.21"), ("10.0.0.22", "192.0.2.22")):
        e = eventually(f"FRR hub cache lists {proto}", lambda p=proto: C.frr_entry(hub.nhrp_cache(), p, {"dynamic"}), timeout=20)
        check(e["nbma"] == nbma, f"FRR hub: {proto} at {nbma}", e)

    out = L.ping(a, "10.0.0.1", count=3)
    check(L.received(out) >= 2, "ping advpnd spoke a -> FRR hub over GRE in IPsec", out)

    def a_shortcut():
        L.ping(a, "10.0.0.22", count=1)
        return C.shortcut_to(a, "192.0.2.22")
    eventually("advpnd spoke a: shortcut to b through IPsec after FRR's redirect", a_shortcut, timeout=60, interval=1)
    out = L.ping(a, "10.0.0.22", count=5)
    check(L.received(out) >= 4, "a <-> b over the IPsec shortcut", out)

    # Nothing in clear: every GRE packet between the spokes and the hub went through ESP.
    pcap = f"{lab.dir}/bridge.pcap"
    clear = subprocess.run(["tcpdump", "-n", "-r", pcap, "ip proto 47"], capture_output=True, text=True, timeout=30)
    esp = subprocess.run(["tcpdump", "-n", "-r", pcap, "udp port 4500"], capture_output=True, text=True, timeout=30)
    check(len(esp.stdout.splitlines()) > 10, "the bridge carried ESP in UDP/4500", len(esp.stdout.splitlines()))
    check(clear.stdout.strip() == "", "no clear-text GRE on the bridge", clear.stdout[:1500])


if __name__ == "__main__":
    C.run("interop_ipsec", scenario)
