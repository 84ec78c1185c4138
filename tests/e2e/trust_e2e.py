"""End-to-end scenarios of issue #12 part 2 (registrations bound to the IPsec identity, NHRP only
through IPsec), registered into e2e.py. Every lab here uses per-node certificates (Lab(auth="certs"):
a CA made with deploy/make-certs.sh; each node's IKE identity is its overlay address, an IP SAN of its
certificate, so charon proves it).

    trust_identities      every registration carries its spoke's proven identity (s3 behind NAT too);
                          s2, with its own valid certificate, claims s1's address while s1 is live, and
                          again after s1 stopped: refused both times (CIE code 4), audited naming both
                          identities while s1 held it, counted, logged with peer and identity
    trust_wrong_cert      s2's certificate (valid, same CA) names 10.0.0.99: charon brings its SA up,
                          but the hub refuses its registration of 10.0.0.12, audited with the identity
    trust_shortcut_identity  s2's certificate names 10.0.0.99, which the hub's [[policy]] lets register
                          10.0.0.12: s1 resolves h2's LAN to 10.0.0.12 and initiates with that remote
                          identity, charon refuses s2's certificate, no direct path, the traffic stays on
                          the hub; s1 -> s3 (whose certificate names its address) goes direct
    trust_clear_gre_daemon  the nftables "drop clear GRE from eth0" rule removed on the hub and s2:
                          clear GRE from the WAN (hostile frames and a registration for 10.0.0.12) is
                          still dropped, by the daemons themselves (transport dropped_not_ipsec)
"""
from __future__ import annotations

import copy
import sys


def register(e2e) -> None:
    labmod, check, wait_for, ping, run_lab, hub_stats = (e2e.labmod, e2e.check, e2e.wait_for, e2e.ping, e2e.run_lab,
                                                         e2e.hub_stats)

    def refused(lab, what: str) -> int:
        return int(hub_stats(lab)["refused"][what])

    def audit_refusals(lab, address: str) -> list[str]:
        events = lab.ctl("hub", "show", "audit", address, as_json=True)["audit"]
        return [e["reason"] for e in events if e["kind"] == "refused" and e["protocol"] == address]

    def host_binding(lab, address: str):
        return [r for r in lab.registrations() if r["protocol"] == address and r["prefix_len"] == 32]

    def start_claiming(lab, node: str, address: str) -> None:
        """Starts `node`'s advpnd registering `address` instead of its own: its charon still proves
        its own identity (the certificate names its own address)."""
        thief = copy.copy(lab.spoke(node))
        thief.overlay = address
        lab._start_spoke(thief)
        lab.save_state()

    @e2e.test
    def test_trust_identities(_=None):
        """Registrations carry the proven IKE identity; s2 claiming s1's address (live, then after s1
        stopped) is refused, audited naming both identities, counted and logged."""
        def body(lab, _wan):
            regs = lab.registrations()
            for spoke in lab.spokes:
                mine = [r for r in regs if r["nbma"] == spoke.nbma]
                check(len(mine) == 2 and all(r["identity"] == spoke.overlay for r in mine),
                      f"{spoke.node}'s bindings do not carry its identity {spoke.overlay}: {mine}")
            check("IDENTITY" in lab.ctl("hub", "show", "registrations"), "no IDENTITY column in the text output")
            s1, s2 = lab.spoke(1), lab.spoke(2)

            # Live: s2 stops cleanly (its own bindings purged), comes back claiming 10.0.0.11.
            lab.kill("s2")
            before = refused(lab, "identity")
            start_claiming(lab, "s2", s1.overlay)
            wait_for(lambda: refused(lab, "identity") > before, 20, "the hub did not refuse s2's claim")
            owner = host_binding(lab, s1.overlay)
            check(len(owner) == 1 and owner[0]["nbma"] == s1.nbma and owner[0]["identity"] == s1.overlay,
                  f"{s1.overlay} changed hands: {owner}")
            reasons = audit_refusals(lab, s1.overlay)
            check(any(f'identity "{s2.overlay}"' in r and f'held by identity "{s1.overlay}"' in r for r in reasons),
                  f"no audit row naming both identities: {reasons}")
            check(f'(identity "{s2.overlay}")' in lab.logs("hub"), "the hub's log does not name the identity")
            check(ping(lab, "h3", s1.host_address, count=3).returncode == 0, "s1 unreachable after the claim")
            print(f"live claim refused: {reasons[0]}")

            # After s1 stopped: its address is free, and still not s2's to take.
            lab.kill("s1")
            wait_for(lambda: not host_binding(lab, s1.overlay), 10, "s1's registration was not purged")
            lab.kill("s2")
            before = refused(lab, "identity")
            start_claiming(lab, "s2", s1.overlay)
            wait_for(lambda: refused(lab, "identity") > before, 20, "the hub did not refuse the claim")
            check(not host_binding(lab, s1.overlay), f"s2 took {s1.overlay} after s1 stopped")
            reasons = audit_refusals(lab, s1.overlay)
            check(any(f'{s1.overlay} is not an address of identity "{s2.overlay}"' in r for r in reasons),
                  f"no audit row for the claim after s1 stopped: {reasons}")
            print(f"claim after stop refused: {reasons[0]}; refused.identity {refused(lab, 'identity')}")

        run_lab(body, auth="certs")

    @e2e.test
    def test_trust_wrong_cert(_=None):
        """A spoke whose valid certificate names another address gets its SA, not its registration."""
        def body(lab, _wan):
            s2 = lab.spoke(2)
            wait_for(lambda: refused(lab, "identity") > 0, 20, "the hub refused nothing")
            check(e2e.sas_to(lab, "hub", s2.nbma), "no SA for s2: the test needs charon to accept its certificate")
            check(not host_binding(lab, s2.overlay), f"s2 registered {s2.overlay} with a certificate for 10.0.0.99")
            reasons = audit_refusals(lab, s2.overlay)
            check(any('identity "10.0.0.99"' in r for r in reasons), f"no audit row naming 10.0.0.99: {reasons}")
            nhs = lab.ctl("s2", "show", "nhs", as_json=True)["nhs"]
            check(nhs and nhs[0]["state"] != "registered", f"s2 thinks it is registered: {nhs}")
            check(host_binding(lab, lab.spoke(1).overlay), "s1 is not registered")
            print(f"refused: {reasons[0]}")

        run_lab(body, auth="certs", cert_names={"s2": "10.0.0.99"})

    @e2e.test
    def test_trust_shortcut_identity(_=None):
        """A shortcut peer whose certificate does not name the resolved address gets no direct path."""
        def body(lab, _wan):
            s1, s2, s3 = lab.spoke(1), lab.spoke(2), lab.spoke(3)
            owner = host_binding(lab, s2.overlay)
            check(owner and owner[0]["identity"] == "10.0.0.99", f"s2 not registered through its policy: {owner}")
            # Positive control: s3's certificate names 10.0.0.13, the shortcut forms.
            check(ping(lab, "h1", s3.host_address, count=3).returncode == 0, "h1 -> h3 failed")
            wait_for(lambda: e2e.active_shortcut(lab, "s1", s3.lan_prefix), 15, "no shortcut s1 -> s3")
            # s2: resolved to 10.0.0.12, its certificate says 10.0.0.99.
            before = e2e.hairpins(lab)
            for _ in range(6):
                check(ping(lab, "h1", s2.host_address, count=3).returncode == 0, "h1 -> h2 failed (hub path)")
                check(not e2e.active_shortcut(lab, "s1", s2.lan_prefix), "s1 took a direct path to s2")
            # s1 initiated with remote identity 10.0.0.12; s2 could not prove it.
            refusals = [line for line in lab.logs("s1").splitlines()
                        if f"peer {s2.nbma}: initiat" in line and "AUTHENTICATION_FAILED" in line]
            check(refusals, "s1 never tried (and failed) to authenticate s2 as 10.0.0.12")
            check(e2e.hairpins(lab) > before, "h1 -> h2 did not go through the hub")
            shortcuts = [s for s in e2e.shortcuts(lab, "s1") if s.get("prefix") == s2.lan_prefix]
            print(f"s1 -> s2 stays on the hub ({e2e.hairpins(lab) - before} hair-pins); s1's shortcut: {shortcuts}")

        run_lab(body, auth="certs", cert_names={"s2": "10.0.0.99"}, policy_addresses={"s2": ["10.0.0.12"]})

    @e2e.test
    def test_trust_clear_gre_daemon(_=None):
        """With the nftables rules removed, clear GRE from the WAN is still dropped, by the daemons."""
        def body(lab, _wan):
            for node in ("hub", "s2"):
                lab.exec_in(node, ["nft", "delete", "table", "inet", "advpnd"])
            e2e.add_attacker(lab)
            before = lab.registrations()
            hub_before = hub_stats(lab)["transport"]
            s2_before = lab.ctl("s2", "show", "stats", as_json=True)["transport"]
            sent = lab.exec_in("evil", [sys.executable, str(e2e.HERE / "hostile.py"), "--register", "10.0.0.12",
                                        "203.0.113.66", labmod.HUB_NBMA, lab.spoke(2).nbma], timeout=60).stdout
            print(sent.strip())
            hub_after = hub_stats(lab)["transport"]
            s2_after = lab.ctl("s2", "show", "stats", as_json=True)["transport"]
            hub_dropped = hub_after["dropped_not_ipsec"] - hub_before["dropped_not_ipsec"]
            s2_dropped = s2_after["dropped_not_ipsec"] - s2_before["dropped_not_ipsec"]
            check(hub_dropped >= 200, f"the hub daemon dropped only {hub_dropped} clear GRE frames")
            check(s2_dropped >= 200, f"s2 dropped only {s2_dropped} clear GRE frames")
            check(lab.registrations() == before or {r["protocol"] for r in lab.registrations()} ==
                  {r["protocol"] for r in before}, "clear GRE changed the hub's registrations")
            check(hub_after["dropped_malformed"] == hub_before["dropped_malformed"],
                  "hostile frames got past the interface check to the GRE parser")
            # Within a few seconds: a spoke's tunnel to the hub may be re-made just after start (a
            # list-sas poll crossing the initiate, seen on main too), which takes a second.
            wait_for(lambda: ping(lab, "h1", lab.spoke(2).host_address, count=3).returncode == 0, 15,
                     "legitimate traffic broke")
            print(f"no nftables rule; dropped by the daemons: hub {hub_dropped}, s2 {s2_dropped}")

        run_lab(body, auth="certs")
