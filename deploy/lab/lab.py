#!/usr/bin/env python3
"""The advpnd namespace lab: a DMVPN phase 3 network on one machine.

    lab.py up [--provider strongswan|none] [--auth psk|certs] [--idle-timeout S] [--routing static|bgp|ospf]   bring it up
    lab.py down                                                 tear it down (also after a crash)
    lab.py demo                                                 the mission, step by step
    lab.py status                                               advpnctl on every node

Topology (namespaces are named <lab>-<node>; default lab name "advlab"):

    h1 10.1.1.10 -- s1 (spoke1) 203.0.113.11 --+
    h2 10.1.2.10 -- s2 (spoke2) 203.0.113.12 --+-- wan (bridge) -- hub 203.0.113.1
    h3 10.1.3.10 -- s3 (spoke3) 198.51.100.3 -- nat 198.51.100.1 / 203.0.113.13 (masquerade) --+
    dc 10.9.0.10 -- hub dc0 10.9.0.1 (a data-centre LAN behind the hub; the hub forwards, ip_forward=1)

Overlay 10.0.0.0/24 (hub 10.0.0.1, spoke N 10.0.0.1N), GRE key 42. Each
spoke registers its LAN 10.1.N.0/24 at the hub. advpnd installs the overlay
routes itself ([routing] overlay_routes: 10.1.0.0/16 on the hub, that and
the data centre's 10.9.0.0/24 on the spokes) and forwards what no binding
covers by the kernel's routes (the hub hands the data centre to its kernel). With the strongswan
provider every node but the NAT box runs its own charon with
kernel-libipsec (../shared notes "strongswan-netns.md": its own /run, GRE
steered into table 220 which fails closed), so GRE never crosses the WAN in
clear text: the spokes bring up their tunnels to the hub at start, and
spoke-to-spoke tunnels only on demand; clear GRE arriving from the WAN is
dropped by nftables (GRE is accepted only after charon decrypted it). The hub's charon holds one
responder template loaded with swanctl; the spokes' are loaded by advpnd.

Everything a lab starts is recorded in /tmp/advpnd-lab/<lab>/state.json;
`down` kills those processes and every process left in the lab's
namespaces, then deletes the namespaces. Addresses are documentation and
10.x ones, inside the lab's own namespaces only.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Not under /run: each charon bind-mounts its own folder over /run.
STATE_ROOT = Path("/tmp/advpnd-lab")
CHARON = "/usr/lib/ipsec/charon"
FRR = Path("/usr/lib/frr")
BGP_AS = 65000
# strongswan-netns.md: kernel-libipsec before kernel-netlink, so that it provides the SAs.
CHARON_PLUGINS = ("random nonce openssl aes sha1 sha2 hmac kdf pem pkcs1 x509 pubkey gmp "
                  "kernel-libipsec kernel-netlink socket-default vici")
PSK = "advpnd-lab-psk-0123456789"
GRE_KEY = 42
HUB_NBMA = "203.0.113.1"
HUB_OVERLAY = "10.0.0.1"
DC_PREFIX = "10.9.0.0/24"
DC_GATEWAY = "10.9.0.1"
DC_HOST = "10.9.0.10"
SPOKE_LANS = "10.1.0.0/16"
NAT_OUTSIDE = "203.0.113.13"


class Spoke:
    def __init__(self, index: int, nbma: str, behind_nat: bool = False):
        self.index = index
        self.node = f"s{index}"
        self.host = f"h{index}"
        self.nbma = nbma
        self.overlay = f"10.0.0.1{index}"
        self.lan_prefix = f"10.1.{index}.0/24"
        self.lan_gateway = f"10.1.{index}.1"
        self.host_address = f"10.1.{index}.10"
        self.behind_nat = behind_nat

    @property
    def public_nbma(self) -> str:
        """The NBMA address the hub and the other spokes see."""
        return NAT_OUTSIDE if self.behind_nat else self.nbma


SPOKES = [Spoke(1, "203.0.113.11"), Spoke(2, "203.0.113.12"), Spoke(3, "198.51.100.3", behind_nat=True)]
IPSEC_NODES = ["hub"] + [s.node for s in SPOKES]


class LabError(RuntimeError):
    pass


def run(args: list[str], check: bool = True, timeout: float = 30, capture: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=capture, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return result


def default_bin_dir() -> Path:
    return ROOT / "build" / "default" / "app"


class Lab:
    def __init__(self, name: str = "advlab", bin_dir: Path | None = None, provider: str = "strongswan",
                 idle_timeout: int = 120, log_level: str = "info", redirect_rate_per_minute: int = 60,
                 redirect_burst: int = 5, spoke_psk: dict[str, str] | None = None, routing: str = "static",
                 auth: str = "psk", cert_names: dict[str, str] | None = None,
                 policy_addresses: dict[str, list[str]] | None = None):
        """spoke_psk: a different IPsec PSK for some spokes (negative tests); they are not
        waited for at start. routing: "static" (each spoke registers its LAN, advpnd installs the
        overlay routes) or "bgp" (FRR zebra + bgpd on the hub and every spoke, iBGP over the
        overlay with the hub as route reflector; spokes register only their /32 and announce
        their LAN; the hub announces the data centre) or "ospf" (FRR zebra + ospfd instead of bgpd:
        OSPF area 0 over the overlay, carried by advpnd's link-local multicast replication; same
        registrations and announcements as "bgp").
        auth (strongswan provider): "psk" (one group PSK; each spoke merely claims its overlay
        address as its IKE identity) or "certs" (a CA made with deploy/make-certs.sh in the lab
        folder, one certificate per node whose IP subjectAltName is its overlay address, which is
        its IKE identity: charon proves it). cert_names: a spoke whose certificate (and identity)
        names another address than its own overlay one (negative tests); policy_addresses: host
        addresses the hub's [[policy]] lets a spoke's identity register besides its own (so that a
        spoke with such a certificate still registers, and its peers' checks are what is tested)."""
        if auth not in ("psk", "certs"):
            raise LabError("auth: psk or certs")
        self.auth = auth
        self.cert_names = cert_names or {}
        self.policy_addresses = policy_addresses or {}
        if routing not in ("static", "bgp", "ospf"):
            raise LabError("routing: static, bgp or ospf")
        self.routing = routing
        if not name.isalnum() or len(name) > 16:
            raise LabError("lab name: letters and digits, at most 16 (it prefixes the namespaces)")
        self.name = name
        self.bin_dir = Path(bin_dir) if bin_dir else default_bin_dir()
        self.provider = provider
        self.idle_timeout = idle_timeout
        self.log_level = log_level
        self.redirect_rate_per_minute = redirect_rate_per_minute
        self.redirect_burst = redirect_burst
        self.spoke_psk = spoke_psk or {}
        self.dir = STATE_ROOT / name
        self.pids: dict[str, int] = {}
        self.spokes = SPOKES

    # --- names and commands ---------------------------------------------------

    def ns(self, node: str) -> str:
        return f"{self.name}-{node}"

    def node_dir(self, node: str) -> Path:
        return self.dir / node

    def exec_in(self, node: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.ns(node)] + args, **kwargs)

    def sh(self, node: str, script: str, **kwargs) -> subprocess.CompletedProcess:
        return self.exec_in(node, ["sh", "-c", script], **kwargs)

    def spoke(self, node_or_index) -> Spoke:
        for s in self.spokes:
            if s.node == node_or_index or s.index == node_or_index:
                return s
        raise LabError(f"no spoke {node_or_index}")

    def control_socket(self, node: str) -> Path:
        return self.node_dir(node) / ("hub.sock" if node == "hub" else "spoke.sock")

    def vici_socket(self, node: str) -> Path:
        return self.node_dir(node) / "charon.vici"

    def ctl(self, node: str, *args: str, as_json: bool = False):
        command = [str(self.bin_dir / "advpnctl"), "-s", str(self.control_socket(node)), *args]
        if as_json:
            command.append("--json")
        out = run(command, timeout=10).stdout
        return json.loads(out) if as_json else out

    def swanctl(self, node: str, *args: str) -> str:
        env = {"STRONGSWAN_CONF": str(self.node_dir(node) / "strongswan.conf")}
        if self.swanctl_dir(node).is_dir():
            env["SWANCTL_DIR"] = str(self.swanctl_dir(node))
        result = subprocess.run(["swanctl", *args, "--uri", f"unix://{self.vici_socket(node)}"], capture_output=True,
                                text=True, timeout=15, env={**os.environ, **env})
        if result.returncode != 0:
            raise LabError(f"swanctl {' '.join(args)} on {node}: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def sas(self, node: str) -> list[dict]:
        """IKE_SAs of a node's charon (swanctl --list-sas --raw), flattened: name, remote-host, children."""
        out = self.swanctl(node, "--list-sas", "--raw")
        sas = []
        for line in out.splitlines():
            line = line.strip()
            if not line.startswith("list-sa event"):
                continue
            sas.extend(parse_list_sa(line[len("list-sa event"):].strip()))
        return sas

    # --- state ------------------------------------------------------------------

    def save_state(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "state.json").write_text(json.dumps({"pids": self.pids, "provider": self.provider,
                                                          "bin_dir": str(self.bin_dir),
                                                          "idle_timeout": self.idle_timeout,
                                                          "auth": self.auth}))

    @classmethod
    def attach(cls, name: str = "advlab") -> "Lab":
        """The lab `name` as `up` left it (for status, demo steps and tests)."""
        state_file = STATE_ROOT / name / "state.json"
        if not state_file.exists():
            raise LabError(f"lab {name} is not up ({state_file} missing)")
        state = json.loads(state_file.read_text())
        lab = cls(name, Path(state["bin_dir"]), state["provider"], state["idle_timeout"],
                  auth=state.get("auth", "psk"))
        lab.pids = {k: int(v) for k, v in state["pids"].items()}
        return lab

    # --- up ---------------------------------------------------------------------

    def up(self, after_network=None) -> None:
        """Brings the lab up; `after_network(lab)` runs once the namespaces are wired, before any
        charon or daemon starts (a test starts its WAN capture there)."""
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, TUN, raw sockets)")
        for tool in ("advpnd", "advpnctl"):
            if not (self.bin_dir / tool).exists():
                raise LabError(f"{self.bin_dir / tool} not found: build first (cmake --build --preset default)")
        if self.provider == "strongswan" and not os.access(CHARON, os.X_OK):
            raise LabError(f"{CHARON} not found: run scripts/install-deps.sh")
        self.down(quiet=True)  # whatever a crashed run left behind
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._make_network()
            if after_network is not None:
                after_network(self)
            if self.provider == "strongswan":
                if self.auth == "certs":
                    self._make_pki()
                for node in IPSEC_NODES:
                    self._start_charon(node)
                self._load_hub_responder()
            self.start_hub()
            for spoke in self.spokes:
                self._start_spoke(spoke)
            self.wait_registered()
            if self.routing in ("bgp", "ospf"):
                for node in ["hub"] + [s.node for s in self.spokes]:
                    self._start_frr(node)
        except BaseException:
            self.down(quiet=True, keep_logs=True)
            raise

    def _make_network(self) -> None:
        nodes = ["wan", "hub", "nat", "dc"] + [s.node for s in self.spokes] + [s.host for s in self.spokes]
        for node in nodes:
            run(["ip", "netns", "add", self.ns(node)])
            self.exec_in(node, ["ip", "link", "set", "lo", "up"])
            self.node_dir(node).mkdir(parents=True, exist_ok=True)
        self.exec_in("wan", ["ip", "link", "add", "br0", "type", "bridge"])
        self.exec_in("wan", ["ip", "link", "set", "br0", "up"])

        def wire(a: str, a_if: str, b: str, b_if: str) -> None:
            run(["ip", "link", "add", a_if, "netns", self.ns(a), "type", "veth", "peer", b_if, "netns", self.ns(b)])
            self.exec_in(a, ["ip", "link", "set", a_if, "up"])
            self.exec_in(b, ["ip", "link", "set", b_if, "up"])

        def on_wan(node: str, address: str) -> None:
            wire(node, "eth0", "wan", node)
            self.exec_in("wan", ["ip", "link", "set", node, "master", "br0"])
            self.exec_in(node, ["ip", "addr", "add", address, "dev", "eth0"])

        on_wan("hub", f"{HUB_NBMA}/24")
        # The data centre behind the hub: the hub routes between it and the overlay.
        wire("dc", "eth0", "hub", "dc0")
        self.exec_in("hub", ["ip", "addr", "add", f"{DC_GATEWAY}/24", "dev", "dc0"])
        self.exec_in("dc", ["ip", "addr", "add", f"{DC_HOST}/24", "dev", "eth0"])
        self.exec_in("dc", ["ip", "route", "add", "default", "via", DC_GATEWAY])
        self.sh("hub", "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0")
        on_wan("nat", f"{NAT_OUTSIDE}/24")
        for spoke in self.spokes:
            if spoke.behind_nat:
                wire(spoke.node, "eth0", "nat", "eth1")
                self.exec_in("nat", ["ip", "addr", "add", "198.51.100.1/24", "dev", "eth1"])
                self.exec_in(spoke.node, ["ip", "addr", "add", f"{spoke.nbma}/24", "dev", "eth0"])
                self.exec_in(spoke.node, ["ip", "route", "add", "default", "via", "198.51.100.1"])
            else:
                on_wan(spoke.node, f"{spoke.nbma}/24")
            wire(spoke.host, "eth0", spoke.node, "lan0")
            self.exec_in(spoke.node, ["ip", "addr", "add", f"{spoke.lan_gateway}/24", "dev", "lan0"])
            self.exec_in(spoke.host, ["ip", "addr", "add", f"{spoke.host_address}/24", "dev", "eth0"])
            self.exec_in(spoke.host, ["ip", "route", "add", "default", "via", spoke.lan_gateway])
            self.sh(spoke.node, "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0")
        # The NAT box: masquerade the inside behind its WAN address (port-preserving PAT).
        self.sh("nat", "sysctl -qw net.ipv4.ip_forward=1")
        self.sh("nat", "nft add table ip nat && "
                       "nft add chain ip nat postrouting '{ type nat hook postrouting priority srcnat; }' && "
                       "nft add rule ip nat postrouting oifname eth0 masquerade")
        if self.provider == "strongswan":
            for node in IPSEC_NODES:
                # strongswan-netns.md: only GRE goes into libipsec's table 220,
                # and GRE to a peer without an SA fails closed there.
                self.exec_in(node, ["ip", "rule", "add", "pref", "210", "ipproto", "gre", "lookup", "220"])
                self.exec_in(node, ["ip", "route", "add", "unreachable", "default", "table", "220"])
                # And inbound: GRE is only accepted once charon has decrypted it (it then
                # arrives from ipsec0); clear GRE from the WAN is dropped and counted, so no
                # one can register or inject overlay traffic without the IPsec credentials.
                self.sh(node, "nft add table inet advpnd && "
                              "nft add chain inet advpnd input '{ type filter hook input priority 0; }' && "
                              "nft add rule inet advpnd input iifname eth0 meta l4proto gre counter drop")

    def _start_charon(self, node: str) -> None:
        d = self.node_dir(node)
        (d / "run").mkdir(parents=True, exist_ok=True)
        (d / "run" / "charon.pid").unlink(missing_ok=True)  # a SIGKILLed charon leaves it and refuses to start
        self.vici_socket(node).unlink(missing_ok=True)  # and its socket, which would look ready at once
        (d / "strongswan.conf").write_text(f"""charon {{
  load_modular = no
  load = {CHARON_PLUGINS}
  plugins {{
    vici {{ socket = unix://{self.vici_socket(node)} }}
    kernel-libipsec {{ allow_peer_ts = yes }}
    kernel-netlink {{ fwmark = 0x47 }}
  }}
  filelog {{
    lab {{ path = {d}/charon.log
      time_format = %H:%M:%S
      default = 1
    }}
  }}
}}
""")
        script = f"mount --bind {d}/run /run && STRONGSWAN_CONF={d}/strongswan.conf exec {CHARON}"
        out = open(d / "charon.out", "w")
        process = subprocess.Popen(["ip", "netns", "exec", self.ns(node), "sh", "-c", script], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.pids[f"charon-{node}"] = process.pid
        self.save_state()
        self._wait(lambda: self.vici_socket(node).exists(), 10, f"charon on {node} did not open its VICI socket",
                   process)

    # --- identities (issue #12) --------------------------------------------------

    @property
    def pki_dir(self) -> Path:
        return self.dir / "pki"

    def identity(self, node: str) -> str:
        """The IKE identity a node proves (certs) or claims (psk): its overlay address."""
        if node == "hub":
            return HUB_OVERLAY
        return self.cert_names.get(node, self.spoke(node).overlay)

    def _make_pki(self) -> None:
        """A CA and one certificate per IPsec node, with deploy/make-certs.sh (so that it stays
        true), once per lab run: ECDSA keys take milliseconds."""
        script = ROOT / "deploy" / "make-certs.sh"
        run([str(script), str(self.pki_dir), "ca"])
        for node in IPSEC_NODES:
            run([str(script), str(self.pki_dir), "node", node, self.identity(node)])

    def swanctl_dir(self, node: str) -> Path:
        """The node's own swanctl folder (SWANCTL_DIR) with x509/, x509ca/, private/ (certs)."""
        return self.node_dir(node) / "swanctl"

    def _hub_swanctl_certs(self) -> str:
        """deploy/hub-swanctl-certs.conf itself; the hub's certificate, key and the CA go where it
        says, in the hub's own swanctl folder (SWANCTL_DIR stands for /etc/swanctl)."""
        example = (ROOT / "deploy" / "hub-swanctl-certs.conf").read_text()
        if HUB_NBMA not in example or "certs = hub.crt" not in example or "cacerts = advpnd-ca.crt" not in example:
            raise LabError("deploy/hub-swanctl-certs.conf no longer names hub.crt, advpnd-ca.crt or the lab's hub")
        d = self.swanctl_dir("hub")
        for folder, name, source in (("x509", "hub.crt", "hub.crt"), ("x509ca", "advpnd-ca.crt", "ca.crt"),
                                     ("private", "hub.key", "hub.key")):
            (d / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy(self.pki_dir / source, d / folder / name)
        return example

    def _hub_ipsec_keys(self) -> str:
        """The hub's [ipsec] and, with static routing, one [[policy]] per spoke for its LAN."""
        if self.provider != "strongswan":
            return '[ipsec]\nprovider = "none"   # clear GRE lab: NHRP from anyone, no identities\n'
        text = f'[ipsec]\nprovider = "strongswan"\nvici_socket = "{self.vici_socket("hub")}"\ninterface = "ipsec0"\n'
        if self.routing == "static":
            for spoke in self.spokes:
                addresses = ", ".join(f'"{a}"' for a in self.policy_addresses.get(spoke.node, []))
                text += (f'\n[[policy]]\nidentity = "{self.identity(spoke.node)}"\n'
                         f'addresses = [{addresses}]\nprefixes = ["{spoke.lan_prefix}"]\n')
        return text

    def _spoke_auth_keys(self, spoke: Spoke) -> str:
        if self.auth == "certs" and spoke.node not in self.spoke_psk:
            d = self.pki_dir
            return (f'auth = "pubkey"\ncertificate = "{d / (spoke.node + ".crt")}"\n'
                    f'private_key = "{d / (spoke.node + ".key")}"\nca_certificate = "{d / "ca.crt"}"\n'
                    f'local_id = "{self.identity(spoke.node)}"')
        # A group PSK: the identity is only claimed (any PSK holder may claim any). remote_id
        # "%any" makes the PSK's owners [own id, %any]: with the own id alone charon finds no
        # key when it answers a shortcut peer that sent no IDr ('%any' - peer).
        return (f'psk = "{self.spoke_psk.get(spoke.node, PSK)}"\nlocal_id = "{self.identity(spoke.node)}"\n'
                'remote_id = "%any"')

    def _load_hub_responder(self) -> None:
        """The hub's charon: one template any spoke may initiate to (GRE only, tunnel mode)."""
        d = self.node_dir("hub")
        if self.auth == "certs":
            # swanctl finds x509/, x509ca/, private/ next to the file it loads.
            conf = self.swanctl_dir("hub") / "swanctl.conf"
            text = self._hub_swanctl_certs()
            conf.write_text(text)
            self.swanctl("hub", "--load-all", "--noprompt", "--file", str(conf))
            return
        # The shipped example itself (its hub address is the lab's), so that it stays true.
        example = (ROOT / "deploy" / "hub-swanctl.conf").read_text()
        if HUB_NBMA not in example or '"change-me"' not in example:
            raise LabError("deploy/hub-swanctl.conf no longer has the lab's hub address and the PSK placeholder")
        (d / "swanctl.conf").write_text(example.replace('"change-me"', f'"{PSK}"'))
        self.swanctl("hub", "--load-all", "--noprompt", "--file", str(d / "swanctl.conf"))

    def hub_config(self) -> Path:
        d = self.node_dir("hub")
        path = d / "hub.toml"
        path.write_text(f"""[hub]
nbma_address = "{HUB_NBMA}"
protocol_address = "{HUB_OVERLAY}"
gre_key = {GRE_KEY}
tun_name = "advpnd0"
overlay_prefix_length = 24
database = "{d}/hub.db"
control_socket = "{self.control_socket('hub')}"
log_level = "{self.log_level}"

[redirect]
rate_per_minute = {self.redirect_rate_per_minute}
burst = {self.redirect_burst}

[routing]
overlay_routes = [{'' if self.dynamic_routing else f'"{SPOKE_LANS}"'}]   # the spokes' LANs, unless BGP/OSPF announces them

{self._hub_ipsec_keys()}""")
        return path

    def start_hub(self) -> None:
        config = self.hub_config()
        self.control_socket("hub").unlink(missing_ok=True)
        self.pids["hub"] = self._spawn("hub", [str(self.bin_dir / "advpnd"), "hub", "--config", str(config)],
                                       "advpnd.log")
        self._wait(lambda: self._answers("hub"), 10, "the hub did not open its control socket",
                   pid=self.pids["hub"])

    @property
    def tunnel_mtu(self) -> int:
        """The overlay MTU that needs no fragmentation below it: the WAN's 1500 less the outer IPv4
        and GRE-with-key headers (24), or, with strongSwan, kernel-libipsec's ipsec0 MTU (1400) less
        the same 24: ESP is added outside that, by charon."""
        return 1376 if self.provider == "strongswan" else 1476

    def spoke_config(self, spoke: Spoke) -> Path:
        d = self.node_dir(spoke.node)
        path = d / "spoke.toml"
        path.write_text(f"""[spoke]
nbma_address = "{spoke.nbma}"
protocol_address = "{spoke.overlay}"
overlay_prefix_length = 24
gre_key = {GRE_KEY}
tun_name = "advpnd0"
mtu = {self.tunnel_mtu}
control_socket = "{self.control_socket(spoke.node)}"
log_level = "{self.log_level}"
{self._spoke_lan_keys(spoke)}

[[nhs]]
nbma_address = "{HUB_NBMA}"
protocol_address = "{HUB_OVERLAY}"

[shortcuts]
idle_timeout = {self.idle_timeout}

[ipsec]
provider = "{self.provider}"
vici_socket = "{self.vici_socket(spoke.node)}"
{self._spoke_auth_keys(spoke)}

[routing]
overlay_routes = [{'' if self.dynamic_routing else f'"{SPOKE_LANS}", "{DC_PREFIX}"'}]   # unless BGP/OSPF announces them
""")
        return path

    @property
    def dynamic_routing(self) -> bool:
        """FRR announces the LANs (BGP or OSPF): spokes register only their /32."""
        return self.routing in ("bgp", "ospf")

    def _spoke_lan_keys(self, spoke: Spoke) -> str:
        if self.dynamic_routing:
            return f"# the LAN is announced by {self.routing.upper()} and answered from the kernel's route: only the /32 registers"
        return f'local_prefixes = ["{spoke.lan_prefix}"]\nregister_local_prefixes = true'

    # --- FRR (routing = "bgp" or "ospf") -------------------------------------------

    @property
    def frr_daemon(self) -> str:
        return "ospfd" if self.routing == "ospf" else "bgpd"

    def frr_config(self, node: str) -> str:
        if self.routing == "ospf":
            return self.ospf_config(node)
        if node == "hub":
            return f"""frr defaults traditional
hostname hub
router bgp {BGP_AS}
 bgp router-id {HUB_OVERLAY}
 no bgp ebgp-requires-policy
 neighbor SPOKES peer-group
 neighbor SPOKES remote-as {BGP_AS}
 neighbor SPOKES timers 3 9
 bgp listen range 10.0.0.0/24 peer-group SPOKES
 address-family ipv4 unicast
  network {DC_PREFIX}
  neighbor SPOKES route-reflector-client
 exit-address-family
"""
        spoke = self.spoke(node)
        return f"""frr defaults traditional
hostname {node}
router bgp {BGP_AS}
 bgp router-id {spoke.overlay}
 neighbor {HUB_OVERLAY} remote-as {BGP_AS}
 neighbor {HUB_OVERLAY} timers 3 9
 address-family ipv4 unicast
  network {spoke.lan_prefix}
 exit-address-family
"""

    def ospf_config(self, node: str) -> str:
        """OSPF area 0 on the overlay TUN as a broadcast network with the hub as DR (priority 255)
        and spokes priority 0 (never DR/BDR): a spoke is Full with the hub only, and a route via the
        broadcast network keeps the announcing spoke's overlay address as its next hop (RFC 2328
        16.1.1), which is what NHRP then shortcuts. (Point-to-multipoint would make every next hop
        the hub's, and its hellos, which the hub replicates, would make spokes Full with each
        other.) mtu-ignore: the hub's TUN MTU and the spokes' differ (the DBD MTU check, RFC 2328
        10.6). Hello 1 s / dead 4 s and no LSA/SPF throttling: the lab converges within seconds
        (the wait timer = dead)."""
        throttle = """ timers throttle spf 0 50 500
 timers throttle lsa all 0
 timers lsa min-arrival 0
"""
        iface = f"""interface advpnd0
 ip ospf network broadcast
 ip ospf priority {255 if node == "hub" else 0}
 ip ospf hello-interval 1
 ip ospf dead-interval 4
 ip ospf mtu-ignore
"""
        if node == "hub":
            return f"""frr defaults traditional
hostname hub
{iface}router ospf
 ospf router-id {HUB_OVERLAY}
{throttle} passive-interface dc0
 network 10.0.0.0/24 area 0
 network {DC_PREFIX} area 0
"""
        spoke = self.spoke(node)
        return f"""frr defaults traditional
hostname {node}
{iface}router ospf
 ospf router-id {spoke.overlay}
{throttle} passive-interface lan0
 network 10.0.0.0/24 area 0
 network {spoke.lan_prefix} area 0
"""

    def ospf_neighbors(self, node: str) -> dict[str, str]:
        """router id -> state ("Full/DR", "2-Way/DROther", ...) from `show ip ospf neighbor json`."""
        raw = self.exec_in(node, ["vtysh", "--vty_socket", str(self.node_dir(node) / "frr"), "-c",
                                  "show ip ospf neighbor json"], check=False).stdout
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return {}
        out = {}
        for router_id, entries in data.get("neighbors", {}).items():
            entry = entries[0] if isinstance(entries, list) and entries else entries
            if isinstance(entry, dict):
                out[router_id] = entry.get("nbrState") or entry.get("state", "")
        return out

    def vtysh(self, node: str, command: str) -> str:
        return self.exec_in(node, ["vtysh", "--vty_socket", str(self.node_dir(node) / "frr"), "-c", command]).stdout

    def _start_frr(self, node: str) -> None:
        """zebra and bgpd (or ospfd) in the node's namespace, each with its own pid file, zebra socket and vty
        socket folder under the node's lab folder (no /etc/frr, no /run/frr)."""
        d = self.node_dir(node) / "frr"
        d.mkdir(parents=True, exist_ok=True)
        (d / "zebra.conf").write_text(f"hostname {node}\n")
        daemon = self.frr_daemon
        (d / f"{daemon}.conf").write_text(self.frr_config(node))
        # The daemons drop to the frr user (its vty group frrvty): the folder is theirs.
        for path in [d, *d.iterdir()]:
            shutil.chown(path, "frr", "frr")
        common = ["-d", "-z", str(d / "zserv.api"), "--vty_socket", str(d), "-P", "0"]
        self.exec_in(node, [str(FRR / "zebra"), *common, "-f", str(d / "zebra.conf"), "-i", str(d / "zebra.pid"),
                            "--log", f"file:{d}/zebra.log"])
        self._wait(lambda: (d / "zserv.api").exists(), 10, f"zebra on {node} did not open its socket")
        self.exec_in(node, [str(FRR / daemon), *common, "-f", str(d / f"{daemon}.conf"), "-i", str(d / f"{daemon}.pid"),
                            "--log", f"file:{d}/{daemon}.log"])
        self._wait(lambda: (d / f"{daemon}.pid").exists(), 10, f"{daemon} on {node} did not start")
        for name in ("zebra", daemon):
            self.pids[f"{name}-{node}"] = int((d / f"{name}.pid").read_text().split()[0])
        self.save_state()

    def _start_spoke(self, spoke: Spoke) -> None:
        config = self.spoke_config(spoke)
        self.control_socket(spoke.node).unlink(missing_ok=True)
        self.pids[spoke.node] = self._spawn(spoke.node, [str(self.bin_dir / "advpnd"), "spoke", "--config",
                                                         str(config)], "advpnd.log")
        self._wait(lambda: self._answers(spoke.node), 10, f"{spoke.node} did not open its control socket",
                   pid=self.pids[spoke.node])

    def restart_charon(self, node: str) -> None:
        self._start_charon(node)
        if node == "hub":
            self._load_hub_responder()

    def restart_spoke(self, node: str) -> None:
        self._start_spoke(self.spoke(node))
        self.save_state()

    def _spawn(self, node: str, args: list[str], log_name: str) -> int:
        log = open(self.node_dir(node) / log_name, "a")
        process = subprocess.Popen(["ip", "netns", "exec", self.ns(node)] + args, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.save_state()
        return process.pid  # `ip netns exec` execs in place: the daemon's own pid

    def _answers(self, node: str) -> bool:
        if not self.control_socket(node).exists():
            return False
        try:
            self.ctl(node, "show", "stats")
            return True
        except (LabError, subprocess.TimeoutExpired):
            return False

    def _wait(self, ready, timeout: float, what: str, process: subprocess.Popen | None = None,
              pid: int | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if process is not None and process.poll() is not None:
                break
            if pid is not None and not pid_alive(pid):
                break
            time.sleep(0.05)
        raise LabError(f"{what} (logs in {self.dir})")

    def registrations(self) -> list[dict]:
        return self.ctl("hub", "show", "registrations", as_json=True)["registrations"]

    def wait_registered(self, timeout: float = 30) -> None:
        """Every spoke is registered at the hub (its tunnel to the hub came up first)."""
        # Not those set up to fail: a wrong PSK, or a certificate naming another address.
        wanted = {s.overlay for s in self.spokes if s.node not in self.spoke_psk and
                  (s.node not in self.cert_names or s.overlay in self.policy_addresses.get(s.node, []))}

        def ready() -> bool:
            try:
                have = {r["protocol"] for r in self.registrations()}
            except (LabError, KeyError, json.JSONDecodeError):
                return False
            return wanted <= have

        self._wait(ready, timeout, "not every spoke registered with the hub")

    def kill(self, key: str, sig: int = signal.SIGTERM, wait: float = 10) -> None:
        pid = self.pids.get(key)
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        reap(pid, wait)
        if sig == signal.SIGKILL or not pid_alive(pid):
            self.pids.pop(key, None)
            self.save_state()

    # --- down -------------------------------------------------------------------

    def down(self, quiet: bool = False, keep_logs: bool = False) -> None:
        state_file = self.dir / "state.json"
        if state_file.exists():
            try:
                pids = json.loads(state_file.read_text()).get("pids", {})
            except json.JSONDecodeError:
                pids = {}
            # Daemons first (a clean stop purges), charons after.
            for key in sorted(pids, key=lambda k: k.startswith("charon")):
                try:
                    os.kill(int(pids[key]), signal.SIGTERM)
                except ProcessLookupError:
                    pass
            for key in pids:
                reap(int(pids[key]), 6)
        # Anything else still running in our namespaces (a test's tcpdump, ping, iperf3).
        names = lab_namespaces(self.name)
        for ns in names:
            pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            for pid in pids:
                reap(int(pid), 2)
        for ns in names:
            run(["ip", "netns", "del", ns], check=False)
        if self.dir.exists():
            if keep_logs:
                kept = Path("/tmp") / f"advpnd-lab-{self.name}-logs"
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(self.dir, kept, ignore=shutil.ignore_patterns("*.sock", "*.vici", "*.vty", "*.api", "run"),
                                dirs_exist_ok=True)
                if not quiet:
                    print(f"lab {self.name}: logs kept in {kept}", file=sys.stderr)
            shutil.rmtree(self.dir, ignore_errors=True)
        self.pids = {}
        if not quiet:
            print(f"lab {self.name}: down")

    def clear_gre_dropped(self, node: str) -> int:
        """Packets of clear GRE from the WAN that the node's nftables rule dropped (strongswan)."""
        out = self.exec_in(node, ["nft", "list", "table", "inet", "advpnd"]).stdout
        for line in out.splitlines():
            if "counter packets" in line:
                return int(line.split("counter packets")[1].split()[0])
        raise LabError(f"{node}: no GRE drop counter")

    def logs(self, node: str, name: str = "advpnd.log") -> str:
        path = self.node_dir(node) / name
        return path.read_text(errors="replace") if path.exists() else ""


def log_time(line: str) -> float:
    """The wall-clock time of an advpnd log line ("2026-11-27T11:36:48.923Z info ...")."""
    stamp = line.split()[0]
    return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + float("0" + stamp[19:-1])


def shortcut_setups_ms(log: str) -> list[float]:
    """From a spoke's log: each Traffic Indication received ("resolving ... after a traffic
    indication") to its shortcut's direct path ("connecting -> active"), in ms."""
    out, started = [], None
    for line in log.splitlines():
        if "after a traffic indication" in line:
            started = log_time(line)
        elif "connecting -> active" in line and started is not None:
            out.append((log_time(line) - started) * 1000)
            started = None
    return out


def lab_namespaces(name: str) -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(name + "-")]


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def reap(pid: int, timeout: float) -> None:
    """Waits for `pid` to end (SIGKILL after `timeout`); reaps it if it is our child."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def parse_list_sa(raw: str) -> list[dict]:
    """swanctl --raw prints VICI messages as `{name {key=value list=[a b]}}`; this reads one list-sa event."""
    tokens: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in "{}[]":
            tokens.append(c)
            i += 1
        elif c.isspace():
            i += 1
        else:
            j = i
            while j < len(raw) and raw[j] not in "{}[] ":
                j += 1
            tokens.append(raw[i:j])
            i = j
    pos = 0

    def section() -> dict:
        nonlocal pos
        out: dict = {}
        while pos < len(tokens) and tokens[pos] != "}":
            token = tokens[pos]
            if "=" in token:
                key, _, value = token.partition("=")
                if value == "" and pos + 1 < len(tokens) and tokens[pos + 1] == "[":
                    pos += 2
                    items = []
                    while tokens[pos] != "]":
                        items.append(tokens[pos])
                        pos += 1
                    pos += 1
                    out[key] = items
                else:
                    out[key] = value
                    pos += 1
            elif pos + 1 < len(tokens) and tokens[pos + 1] == "{":
                pos += 2
                out[token] = section()
                pos += 1
            else:
                pos += 1
        return out

    if tokens and tokens[0] == "{":
        pos = 1
    top = section()
    sas = []
    for name, body in top.items():
        if isinstance(body, dict):
            children = body.get("child-sas", {})
            sas.append({"name": name, "state": body.get("state"), "remote-host": body.get("remote-host"),
                        "local-host": body.get("local-host"),
                        "children": [dict(c, name=c.get("name", k)) for k, c in children.items()
                                     if isinstance(c, dict)]})
    return sas


# --- the demo -------------------------------------------------------------------

def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def show(lab: Lab, node: str, *args: str) -> None:
    print(f"$ advpnctl -s {node}:{lab.control_socket(node).name} {' '.join(args)}", flush=True)
    print(lab.ctl(node, *args).rstrip(), flush=True)


def demo(bin_dir: Path, idle_timeout: int) -> int:
    lab = Lab("advdemo", bin_dir, "strongswan", idle_timeout=idle_timeout)
    s1, s2 = lab.spoke(1), lab.spoke(2)
    try:
        say("1. The lab: a hub, three spokes (spoke3 behind NAT), a host behind each spoke; "
            "one charon (kernel-libipsec) and one advpnd per node")
        started = time.monotonic()
        lab.up()
        print(f"up in {time.monotonic() - started:.1f} s; every spoke brought up its IPsec tunnel to the hub "
              "and registered over it")
        show(lab, "hub", "show", "registrations")
        show(lab, "s1", "show", "nhs")

        say(f"2. host1 {s1.host_address} pings host2 {s2.host_address}: the first packets go through the hub")
        before = lab.ctl("hub", "show", "stats", as_json=True)
        ping = lab.exec_in("h1", ["ping", "-c", "3", "-i", "0.2", "-W", "2", s2.host_address], check=False)
        print(ping.stdout.strip())
        after = lab.ctl("hub", "show", "stats", as_json=True)
        hairpins = hub_hairpins(after) - hub_hairpins(before)
        print(f"the hub forwarded {hairpins} of them spoke to spoke (hair-pin) and sent spoke1 a redirect "
              f"(traffic indications sent: {after.get('redirect', {}).get('indications_sent', '?')})")

        say("3. spoke1 resolved host2's network, brought up a direct IPsec tunnel to spoke2, "
            "and moved the traffic onto it")
        lab._wait(lambda: any(s.get("state") == "active" for s in
                              lab.ctl("s1", "show", "shortcuts", as_json=True)["shortcuts"]), 10,
                  "no shortcut on spoke1")
        show(lab, "s1", "show", "shortcuts")
        s1_stats = lab.ctl("s1", "show", "stats", as_json=True)
        s2_stats = lab.ctl("s2", "show", "stats", as_json=True)
        print(f"the resolution: spoke1 sent {packet_count(s1_stats, 'resolution-request', 'sent')} Resolution "
              f"Request(s) and got {packet_count(s1_stats, 'resolution-reply', 'received')} Resolution Reply(s); "
              f"spoke2 received {packet_count(s2_stats, 'resolution-request', 'received')} request(s) (forwarded "
              f"by the hub) and answered {packet_count(s2_stats, 'resolution-reply', 'sent')}")
        print(f"$ swanctl --list-sas   (spoke1's charon)")
        sas = lab.sas("s1")
        for sa in sas:
            print(f"  {sa['name']}: {sa['state']} to {sa['remote-host']}, "
                  f"{len(sa['children'])} CHILD_SA(s) {[c.get('state') for c in sa['children']]}")
        if sum(sa["remote-host"] == s2.nbma for sa in sas) > 1:
            print("  (two to spoke2 for a few seconds: the ping's replies hair-pinned too, so both spokes were\n"
                  "   redirected at once and each initiated; the spoke with the higher address terminates its\n"
                  "   own once the other one has been installed for 2 s: vici/duplicate_sa.h)")
        before = hub_hairpins(lab.ctl("hub", "show", "stats", as_json=True))
        ping = lab.exec_in("h1", ["ping", "-c", "5", "-i", "0.2", "-W", "2", s2.host_address], check=False)
        print(ping.stdout.strip().splitlines()[-1])
        after = hub_hairpins(lab.ctl("hub", "show", "stats", as_json=True))
        print(f"hair-pins at the hub during these 5 pings: {after - before} (the path is direct now)")

        say(f"4. Silence: after the idle timeout ({idle_timeout} s) spoke1 moves the prefix back to the hub "
            "and tears the tunnel down")
        lab._wait(lambda: not lab.ctl("s1", "show", "shortcuts", as_json=True)["shortcuts"], idle_timeout + 30,
                  "the shortcut did not expire")
        show(lab, "s1", "show", "shortcuts")
        # spoke1 also answered spoke2's resolution: that reply's lease on the
        # tunnel goes after the same idle time, seen in charon's counters
        # (polled every 5 s), so the SA may outlive the shortcut by seconds.
        gone = time.monotonic()
        lab._wait(lambda: not any(sa["remote-host"] == s2.nbma for sa in lab.sas("s1")), 20,
                  "the SA to spoke2 stayed")
        names = [sa["name"] for sa in lab.sas("s1")]
        print(f"spoke1's IKE_SAs now: {names} (only the one to the hub; the one to spoke2 went "
              f"{time.monotonic() - gone:.1f} s after the shortcut)")
        before = hub_hairpins(lab.ctl("hub", "show", "stats", as_json=True))
        ping = lab.exec_in("h1", ["ping", "-c", "1", "-W", "2", s2.host_address], check=False)
        after = hub_hairpins(lab.ctl("hub", "show", "stats", as_json=True))
        print("host1 -> host2 still works: " + ("yes" if ping.returncode == 0 else "NO") +
              f"; hair-pins at the hub during that ping: {after - before} (the path is the hub's again)")
        if ping.returncode != 0 or after <= before:
            raise LabError("the return to the hub path was not seen in the hub's counters")
        say("Done. `deploy/lab/lab.py up` keeps a lab running to explore (then `lab.py down`).")
        return 0
    except LabError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        for node in ("hub", "s1", "s2"):
            print(f"--- {node} advpnd.log (tail)", file=sys.stderr)
            print("\n".join(lab.logs(node).splitlines()[-15:]), file=sys.stderr)
        return 1
    finally:
        lab.down(quiet=True)


def packet_count(stats: dict, packet_type: str, direction: str) -> int:
    """`advpnctl show stats --json`'s count of one NHRP packet type, received or sent."""
    for entry in stats.get("packets", []):
        if entry["type"] == packet_type:
            return int(entry[direction])
    return 0


def hub_hairpins(stats: dict) -> int:
    return int(stats.get("dataplane", {}).get("hairpinned", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "demo", "status"])
    parser.add_argument("--name", default="advlab", help="lab name (namespace prefix: letters and digits, at most 16)")
    parser.add_argument("--bin", type=Path, default=default_bin_dir(), help="folder with advpnd and advpnctl")
    parser.add_argument("--provider", choices=["strongswan", "none"], default="strongswan")
    parser.add_argument("--auth", choices=["psk", "certs"], default="psk",
                        help="IKE authentication: a group PSK, or per-node certificates (deploy/make-certs.sh)")
    parser.add_argument("--idle-timeout", type=int, default=None, help="shortcut idle timeout (s)")
    parser.add_argument("--routing", choices=["static", "bgp", "ospf"], default="static",
                        help="static overlay routes, or FRR next to advpnd: BGP or OSPF over the overlay")
    args = parser.parse_args()
    try:
        if args.command == "demo":
            return demo(args.bin, args.idle_timeout or 10)
        if args.command == "up":
            lab = Lab(args.name, args.bin, args.provider, idle_timeout=args.idle_timeout or 120, routing=args.routing,
                      auth=args.auth)
            lab.up()
            print(f"lab {args.name} up ({args.provider}, routing {args.routing}); state and logs in {lab.dir}; "
                  f"`ip netns exec {lab.ns('h1')} ping 10.1.2.10` to try it")
            return 0
        if args.command == "down":
            Lab(args.name, args.bin).down()
            return 0
        lab = Lab.attach(args.name)
        for node in ["hub"] + [s.node for s in lab.spokes]:
            show(lab, node, "show", "nhs" if node != "hub" else "registrations")
            if node != "hub":
                show(lab, node, "show", "shortcuts")
        return 0
    except LabError as error:
        print(f"lab: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
