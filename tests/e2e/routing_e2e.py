"""End-to-end scenarios of issue #11 (forwarding by the kernel's routes), registered into e2e.py.

    data_centre            h1 (behind spoke1) <-> dc (behind the hub): the hub hands the data centre
                           to its kernel, the answer comes back through the overlay; advpnd installed
                           the overlay routes itself (proto 173 "advpnd"), none by hand
    spoke_restart_routes   spoke1's advpnd killed with SIGKILL and started again: its overlay routes
                           are back (installed by advpnd, not by hand) and h1 reaches h2 and dc again
"""
from __future__ import annotations

import signal

ADVPND_PROTO = "173"  # routing/kernel_route.h kAdvpndProtocol


def advpnd_routes(e2e, lab, node: str) -> list[str]:
    out = lab.exec_in(node, ["ip", "-4", "route", "show", "proto", ADVPND_PROTO]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def register(e2e) -> None:
    labmod, check, wait_for, ping, run_lab, hub_stats = (e2e.labmod, e2e.check, e2e.wait_for, e2e.ping, e2e.run_lab,
                                                         e2e.hub_stats)

    @e2e.test
    def test_data_centre(_=None):
        """A host behind a spoke reaches the data centre behind the hub and back (hub kernel routes)."""
        def body(lab, _wan):
            check(advpnd_routes(e2e, lab, "s1") == ["10.1.0.0/16", "10.9.0.0/24"],
                  f"s1's overlay routes installed by advpnd: {advpnd_routes(e2e, lab, 's1')}")
            check(advpnd_routes(e2e, lab, "hub") == ["10.1.0.0/16"],
                  f"the hub's overlay route installed by advpnd: {advpnd_routes(e2e, lab, 'hub')}")
            before = hub_stats(lab)["dataplane"]
            result = ping(lab, "h1", labmod.DC_HOST, count=5)
            check(result.returncode == 0, f"h1 -> dc: {result.stdout.strip()}")
            result = ping(lab, "dc", lab.spoke(2).host_address, count=5)
            check(result.returncode == 0, f"dc -> h2: {result.stdout.strip()}")
            after = hub_stats(lab)["dataplane"]
            check(after["by_kernel_route"] - before["by_kernel_route"] >= 5,
                  f"the hub forwarded by its kernel routes: {before} -> {after}")
            check(after["drops"]["no-route"] == before["drops"]["no-route"],
                  f"nothing dropped for want of a route: {after['drops']}")
        run_lab(body)

    @e2e.test
    def test_spoke_restart_routes(_=None):
        """SIGKILL spoke1's advpnd and start it again: its overlay routes come back by themselves."""
        def body(lab, _wan):
            check(ping(lab, "h1", lab.spoke(2).host_address).returncode == 0, "h1 -> h2 before the restart")
            lab.kill("s1", signal.SIGKILL)
            # The TUN went with the process, and every route through it.
            wait_for(lambda: advpnd_routes(e2e, lab, "s1") == [], 5, "s1's routes gone with its device")
            lab.restart_spoke("s1")
            wait_for(lambda: advpnd_routes(e2e, lab, "s1") == ["10.1.0.0/16", "10.9.0.0/24"], 10,
                     "s1's overlay routes back after the restart")
            lab.wait_registered()
            wait_for(lambda: ping(lab, "h1", lab.spoke(2).host_address, count=1).returncode == 0, 20,
                     "h1 -> h2 after the restart")
            check(ping(lab, "h1", labmod.DC_HOST).returncode == 0, "h1 -> dc after the restart")
        run_lab(body, provider="none")
