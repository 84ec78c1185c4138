#!/usr/bin/env python3
"""advpnd interop lab: FRR nhrpd in user-mode-Linux guests, advpnd daemons in namespaces.

Layout of one run (every name carries this runner's pid, so parallel or crashed runs never
collide):

    namespace advi<pid>-sw          bridge br0 (192.0.2.0/24 "internet"), the guests' TAPs,
                                    the UML processes, tcpdump of br0
      ├─ tap-<guest>   ── UML guest (kernel mGRE + FRR nhrpd), eth0 inside
      ├─ v-<role> ─ veth ─ namespace advi<pid>-<role>: an advpnd hub or spoke (raw GRE + TUN)
      └─ v-<nat>  ─ veth ─ namespace advi<pid>-<nat>: nftables masquerade, its own bridge brn
                              (198.51.100.0/24) with the TAPs of guests "behind NAT"

Guests boot from the cached rootfs (build-rootfs.sh), read-only through hostfs, and talk to
this runner through a hostfs folder (guest-init.sh describes the protocol). Everything is
bounded by timeouts and torn down in close() whatever happened: UML processes are killed by
their own process group (we started them in a new session), daemons by pid, namespaces
deleted, the temporary folder removed (kept when ADVPND_INTEROP_KEEP=1). If the runner itself
is SIGKILLed, PR_SET_PDEATHSIG and a reaper process (`lab.py --reap`, own session) do it.

Addresses: NBMA only in 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 (RFC 5737); overlay
in 10.0.0.0/24 and 10.0.1.0/24. Nothing is routed anywhere else.

Python 3 standard library only.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
NS_PREFIX = "advi"                 # namespaces: advi<pid>-<role>
TMP_PREFIX = "advpnd-interop-"     # temp folders: /tmp/advpnd-interop-<pid>-XXXX
GRE_KEY = 42
UML = shutil.which("linux.uml") or "/usr/bin/linux.uml"


class LabError(Exception):
    pass


class GuestDied(LabError):
    """Not worth waiting for: wait_until re-raises it at once."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd, check=True, timeout=30, input=None) -> subprocess.CompletedProcess:
    """Run a host command (list or string), bounded by a timeout."""
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise LabError(f"{' '.join(cmd)} -> {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return p


def require_root() -> None:
    """Interop tests need root (namespaces, TAPs, raw GRE). Without it they FAIL, never pass."""
    if os.geteuid() != 0:
        print("FAIL: the interop lab needs root (network namespaces, TAP devices, raw GRE "
              "sockets); run ctest -L interop as root", file=sys.stderr)
        sys.exit(1)


def wait_until(what: str, fn: Callable[[], object], timeout: float, interval: float = 0.5):
    """Poll fn until it returns something truthy; raise LabError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except GuestDied:
            raise
        except (LabError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            last = e
            if time.monotonic() >= deadline:
                raise LabError(f"timed out after {timeout:.0f}s waiting for {what}; last error: {e}")
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def _die_with_runner() -> None:
    """preexec_fn: SIGKILL this child when the runner dies (prctl PR_SET_PDEATHSIG), so that a
    runner killed by ctest's TIMEOUT does not leave UML guests or daemons behind. The next run's
    clean_stale() catches whatever still escapes (UML's own helper processes)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


class Deadline(BaseException):
    """Raised by SIGALRM/SIGTERM: unwinds through Lab.__exit__ so cleanup always runs."""


def arm_deadline(seconds: int) -> None:
    """The whole run must end within `seconds` (kept below ctest's TIMEOUT); SIGTERM (ctest,
    a user) also unwinds through the cleanup instead of killing the runner outright."""
    def fire(signo, _frame):
        raise Deadline(f"interop run stopped by {signal.Signals(signo).name} "
                       f"({'deadline of ' + str(seconds) + ' s' if signo == signal.SIGALRM else 'signal'})")
    signal.signal(signal.SIGALRM, fire)
    signal.signal(signal.SIGTERM, fire)
    signal.alarm(seconds)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale() -> None:
    """Remove namespaces and temp folders of crashed runs: only those whose owning pid is gone."""
    p = sh(["ip", "netns", "list"], check=False)
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(rf"^{NS_PREFIX}(\d+)-", name)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        pids = sh(["ip", "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh(["ip", "netns", "del", name], check=False)
        log(f"removed stale namespace {name}")
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        m = re.match(rf"^{TMP_PREFIX}(\d+)-", entry)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)


def _kill_tagged(tag: str) -> None:
    """SIGKILL every process of run `tag`: those in its namespaces and UML processes carrying
    its umid (UML's helper processes are re-parented to init when the main one dies)."""
    victims = set()
    for line in sh(["ip", "netns", "list"], check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(tag + "-"):
            victims.update(int(p) for p in sh(["ip", "netns", "pids", name], check=False).stdout.split())
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f"umid={tag}-".encode() in f.read():
                        victims.add(int(entry))
            except OSError:
                pass
    victims.discard(os.getpid())
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def reap(runner_pid: int, tag: str, folder: str) -> None:
    """The reaper (a process of its own session): once the runner is gone, however it went
    (SIGKILL by ctest's TIMEOUT included), remove everything of its run."""
    while _pid_alive(runner_pid):
        time.sleep(0.5)
    _kill_tagged(tag)
    time.sleep(0.5)
    for line in sh(["ip", "netns", "list"], check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(tag + "-"):
            sh(["ip", "netns", "del", name], check=False)
    if folder.startswith(os.path.join(tempfile.gettempdir(), TMP_PREFIX)) and \
            os.environ.get("ADVPND_INTEROP_KEEP") != "1":
        shutil.rmtree(folder, ignore_errors=True)


def build_rootfs(suite: str = "bookworm") -> str:
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(HERE, "build-rootfs.sh")], capture_output=True, text=True, timeout=1200,
                       env=dict(os.environ, ADVPND_UML_SUITE=suite))
    if p.returncode != 0:
        raise LabError(f"build-rootfs.sh ({suite}) failed: {p.stderr[-2000:]}")
    rootfs = p.stdout.strip().splitlines()[-1]
    log(f"rootfs {rootfs} ({time.monotonic() - t0:.1f}s)")
    return rootfs


# --- guests --------------------------------------------------------------------------------


class Guest:
    """One UML guest running FRR; commands go through its hostfs folder."""

    def __init__(self, lab: "Lab", name: str, ns: str, setup: str, mem: str, mac: str):
        self.lab, self.name, self.ns, self.mem, self.mac = lab, name, ns, mem, mac
        self.dir = os.path.join(lab.labdir, name)
        self.cmd_dir = os.path.join(self.dir, "cmd")
        os.makedirs(self.cmd_dir)
        with open(os.path.join(self.dir, "setup.sh"), "w") as f:
            f.write(setup)
        self.console = os.path.join(lab.dir, f"{name}.console")
        self.proc: Optional[subprocess.Popen] = None
        self.seq = 0
        self.booted_at = 0.0

    def boot(self) -> None:
        cmd = ["ip", "netns", "exec", self.ns, UML, f"umid={self.lab.tag}-{self.name}",
               f"uml_dir={self.lab.uml_dir}", f"mem={self.mem}", "quiet", "root=/dev/root",
               "rootfstype=hostfs", f"rootflags={self.lab.rootfs}", "ro",
               "init=/sbin/advpnd-guest-stub", f"LAB={self.lab.labdir}", f"GUEST={self.name}",
               f"vec0:transport=tap,ifname=tap-{self.name},mac={self.mac}",
               "con0=null,fd:1", "con=none", "ssl=none"]
        env = dict(os.environ, TMPDIR="/dev/shm")  # UML maps its memory from TMPDIR (uml-lab.md)
        with open(self.console, "w") as out:
            # A new session: the UML process and every helper it forks share one process
            # group, which close() kills by that group's id (our own child's pid).
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                         preexec_fn=_die_with_runner)
        self.booted_at = time.monotonic()

    def wait_ready(self, timeout: float = 90) -> float:
        ready = os.path.join(self.dir, "ready")

        def check():
            if self.proc and self.proc.poll() is not None:
                raise GuestDied(f"guest {self.name} exited early ({self.proc.returncode}); "
                               f"console: {self.tail(self.console)}")
            return os.path.exists(ready)
        wait_until(f"guest {self.name} setup", check, timeout, 0.2)
        rc = open(ready).read().strip()
        took = time.monotonic() - self.booted_at
        if rc != "0":
            raise LabError(f"guest {self.name} setup failed ({rc}):\n"
                           f"{self.tail(os.path.join(self.dir, 'setup.log'), 40)}")
        log(f"guest {self.name} ready in {took:.1f}s")
        return took

    def run(self, script: str, timeout: float = 30, check: bool = True) -> str:
        """Run a shell snippet inside the guest; returns its output."""
        self.seq += 1
        n = self.seq
        tmp = os.path.join(self.cmd_dir, f".{n}.tmp")
        with open(tmp, "w") as f:
            f.write(script)
        os.rename(tmp, os.path.join(self.cmd_dir, f"{n}.sh"))
        rc_path = os.path.join(self.cmd_dir, f"{n}.rc")

        def done():
            if self.proc and self.proc.poll() is not None:
                raise GuestDied(f"guest {self.name} died: {self.tail(self.console)}")
            return os.path.exists(rc_path)
        wait_until(f"guest {self.name} command {script.strip()[:60]!r}", done, timeout, 0.1)
        rc = int(open(rc_path).read().strip() or "255")
        out = open(os.path.join(self.cmd_dir, f"{n}.out")).read()
        if check and rc != 0:
            raise LabError(f"guest {self.name}: {script.strip()[:80]!r} -> {rc}: {out[-1500:]}")
        return out

    def vtysh_json(self, command: str, timeout: float = 30):
        out = self.run(f"vtysh -c {shlex.quote(command)}", timeout=timeout)
        try:
            return json.loads(out)
        except ValueError as e:
            raise LabError(f"guest {self.name}: {command}: not JSON ({e}): {out[:500]}")

    def nhrp_cache(self) -> list:
        return self.vtysh_json("show ip nhrp cache json").get("table", [])

    def nhrp_nhs(self) -> list:
        return self.vtysh_json("show ip nhrp nhs json").get("table", [])

    def save(self, name: str, text: str) -> None:
        with open(os.path.join(self.lab.dir, f"{self.name}.{name}"), "w") as f:
            f.write(text)

    def stop(self, timeout: float = 10) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            with open(os.path.join(self.cmd_dir, "stop"), "w") as f:
                f.write("stop\n")
            self.proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self.kill()

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def tail(path: str, lines: int = 15) -> str:
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(none)"


# --- advpnd daemons ------------------------------------------------------------------------


class Daemon:
    """An advpnd hub or spoke in its own namespace."""

    def __init__(self, lab: "Lab", name: str, kind: str, ns: str, config: str):
        self.lab, self.name, self.kind, self.ns = lab, name, kind, ns
        self.config = os.path.join(lab.dir, f"{name}.toml")
        with open(self.config, "w") as f:
            f.write(config)
        self.socket = os.path.join(lab.dir, f"{name}.sock")
        self.log_path = os.path.join(lab.dir, f"{name}.log")
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        check = sh([self.lab.advpnd, "check", "--config", self.config], check=False)
        if check.returncode != 0:
            raise LabError(f"{self.name}: advpnd check refused the config: {check.stdout}{check.stderr}")
        with open(self.log_path, "a") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, self.lab.advpnd, self.kind, "--config", self.config],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_runner)
        wait_until(f"{self.name} control socket", lambda: self._alive() and os.path.exists(self.socket), 15, 0.1)

    def _alive(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise GuestDied(f"{self.name} exited ({self.proc.returncode}): {Guest.tail(self.log_path)}")
        return True

    def ctl(self, *words: str) -> dict:
        self._alive()
        p = sh([self.lab.advpnctl, "-s", self.socket, *words, "--json"], timeout=10)
        return json.loads(p.stdout)

    def log_text(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def exec(self, cmd: str, timeout: float = 30, check: bool = False) -> subprocess.CompletedProcess:
        return sh(["ip", "netns", "exec", self.ns] + shlex.split(cmd), check=check, timeout=timeout)

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def hub_db_rows(path: str) -> list[dict]:
    """The advpnd hub's SQLite bindings (schema: db/schema.cpp), addresses as dotted quads."""
    def ip(blob):
        return ".".join(str(b) for b in blob) if blob and len(blob) == 4 else ""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT protocol_addr, prefix_len, nbma_addr, post_nat_nbma, holding_time,"
                           " is_unique, expires_at FROM binding").fetchall()
    finally:
        con.close()
    return [dict(protocol=ip(r[0]), prefix_len=r[1], nbma=ip(r[2]), post_nat_nbma=ip(r[3]),
                 holding_time=r[4], unique=r[5], expires_at=r[6]) for r in rows]


def hub_audit(path: str) -> list[dict]:
    def ip(blob):
        return ".".join(str(b) for b in blob) if blob and len(blob) == 4 else ""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT kind, nbma_addr, post_nat_nbma, protocol_addr, reason FROM audit"
                           " ORDER BY at, id").fetchall()
    finally:
        con.close()
    return [dict(kind=r[0], nbma=ip(r[1]), post_nat_nbma=ip(r[2]), protocol=ip(r[3]), reason=r[4])
            for r in rows]


# --- FRR guest configuration -------------------------------------------------------------------


@dataclass
class FrrNode:
    """What one FRR guest runs: kernel mGRE gre1 + zebra + nhrpd (RFC 2332 NHS or NHC)."""
    nbma: str
    overlay: str
    hub: bool = False
    nhs_nbma: str = ""               # spoke: `ip nhrp nhs dynamic nbma <hub>`
    hub_overlay: str = "10.0.0.1"    # spoke: the overlay route via the hub...
    overlay_net: str = "10.0.0.0/24"  # ...for this subnet
    gateway: str = ""                # default route (guests behind NAT)
    password: str = ""               # `ip nhrp authentication` (Cisco cleartext, RFC 2332 5.3.4)
    holdtime: int = 600
    gre_key: Optional[int] = GRE_KEY
    ipsec_psk: str = ""              # static swanctl responder for advpnd's strongswan provider
    extra: list = field(default_factory=list)
    lan: str = ""                    # address/length of a LAN behind the guest (a dummy device)
    bgpd: str = ""                   # bgpd.conf: bgpd runs next to nhrpd when set

    def ipsec_lines(self) -> list:
        """Guest charon (kernel-netlink: kernel ESP) with one static responder connection that
        advpnd's strongswan provider agrees with: IKEv2 PSK, tunnel mode, GRE-only selectors
        (dynamic[gre]), and `encap = yes` because the host's kernel-libipsec always speaks
        ESP-in-UDP. FRR's `tunnel protection vici` needs a patched strongSwan (uml-lab.md),
        hence a static connection; it is up before nhrpd starts."""
        conf = [
            "charon {", " load_modular = yes", " plugins {", "  include /etc/strongswan.d/charon/*.conf", " }",
            " filelog {", "  lab {", "   path = /var/log/charon.log", "   time_format = %H:%M:%S",
            "   default = 1", "  }", " }", "}", "include /etc/strongswan.d/*.conf",
        ]
        swanctl = [
            "connections {", " advpnd {", "  version = 2", f"  local_addrs = {self.nbma}", "  remote_addrs = %any",
            "  proposals = aes256-sha256-modp2048", "  encap = yes", "  mobike = no",
            "  local { auth = psk }", "  remote { auth = psk }",
            "  children {", "   gre {", "    local_ts = dynamic[gre]", "    remote_ts = dynamic[gre]",
            "    mode = tunnel", "    esp_proposals = aes256-sha256", "   }", "  }", " }", "}",
            "secrets {", f"  ike-lab {{ secret = \"{self.ipsec_psk}\" }}", "}",
        ]
        return [
            "for m in esp4 xfrm_user authenc cbc aes_generic sha256_generic hmac echainiv xfrm4_tunnel; do modprobe $m || true; done",
            "cat > /run/strongswan.conf <<'EOF'", *conf, "EOF",
            "cat > /etc/swanctl/swanctl.conf <<'EOF'", *swanctl, "EOF",
            "export STRONGSWAN_CONF=/run/strongswan.conf",
            "/usr/lib/ipsec/charon > /var/log/charon.out 2>&1 &",
            "i=0; while [ ! -S /run/charon.vici ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done",
            "swanctl --load-all",
        ]

    def setup_script(self) -> str:
        key = f" key {self.gre_key}" if self.gre_key is not None else ""
        nhrp = ["log file /var/log/frr/nhrpd.log debugging", "debug nhrp all"]
        if self.hub:
            nhrp.append("nhrp nflog-group 1")
        nhrp += ["interface gre1", " ip nhrp network-id 1", f" ip nhrp holdtime {self.holdtime}"]
        if self.password:
            nhrp.append(f" ip nhrp authentication {self.password}")
        if self.hub:
            nhrp.append(" ip nhrp redirect")
        else:
            nhrp += [f" ip nhrp nhs dynamic nbma {self.nhs_nbma}", " ip nhrp registration no-unique",
                     " ip nhrp shortcut"]
        nhrp += self.extra + ["exit", ""]
        # The addresses are the kernel's (set below); zebra learns them. No `interface` section
        # for zebra: FRR 10 moves parts of it to mgmtd, which this lab does not run.
        zebra = ["log file /var/log/frr/zebra.log informational", ""]
        lines = [
            "set -ex",
            "modprobe ip_gre",
            # UML's vector driver names the device vec0.
            "ip link set vec0 name eth0",
            "ip link set eth0 up",
            f"ip addr add {self.nbma}/24 dev eth0",
        ]
        if self.gateway:
            lines.append(f"ip route add default via {self.gateway}")
        lines += [
            # `local` only, no `tunnel source`: with both, nhrpd reset the local address to 0
            # (uml-lab.md pitfall); nhrpd takes its NBMA address from `local`.
            f"ip tunnel add gre1 mode gre{key} ttl 64 local {self.nbma}",
            f"ip addr add {self.overlay}/32 dev gre1",
            "ip link set gre1 up",
            "echo 1 > /proc/sys/net/ipv4/ip_forward",
            "echo 0 > /proc/sys/net/ipv4/ip_forward_use_pmtu",
        ]
        if self.hub:
            # Hair-pinned overlay traffic (in gre1, out gre1) goes to nhrpd through NFLOG group 1,
            # rate limited per (source, destination) like FRR's documented rule; nhrpd answers
            # with a Traffic Indication (`ip nhrp redirect`). iptables-legacy: the UML kernel
            # has no nf_tables ip family (see build-rootfs.sh).
            lines += [
                "iptables-legacy -A FORWARD -i gre1 -o gre1 -m hashlimit --hashlimit-upto 4/minute"
                " --hashlimit-burst 1 --hashlimit-mode srcip,dstip --hashlimit-srcmask 32"
                " --hashlimit-dstmask 32 --hashlimit-name redirect -j NFLOG --nflog-group 1"
                " --nflog-size 128",
            ]
        else:
            # The overlay subnet via the hub (the routing protocol's job in a real network):
            # a kernel route, which zebra redistributes to nhrpd; nhrpd resolves shortcuts
            # for destinations whose route has an NBMA next hop on gre1.
            lines.append(f"ip route add {self.overlay_net} via {self.hub_overlay} dev gre1 onlink")
        if self.lan:
            lines += ["modprobe dummy || true", "ip link add lan0 type dummy", "ip link set lan0 up",
                      f"ip addr add {self.lan} dev lan0"]
        if self.ipsec_psk:
            lines += self.ipsec_lines()
        if self.bgpd:
            lines += ["cat > /etc/frr/bgpd.conf <<'EOF'", self.bgpd, "EOF"]
        lines += [
            "cat > /etc/frr/zebra.conf <<'EOF'", *zebra, "EOF",
            "cat > /etc/frr/nhrpd.conf <<'EOF'", *nhrp, "EOF",
            "cat > /etc/frr/vtysh.conf <<'EOF'", "service integrated-vtysh-config", "EOF",
            "chown -R frr:frr /etc/frr /run/frr /var/log/frr",
            "/usr/lib/frr/zebra -d -A 127.0.0.1 -f /etc/frr/zebra.conf -i /run/frr/zebra.pid",
            "i=0; while [ ! -S /run/frr/zserv.api ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
            "/usr/lib/frr/nhrpd -d -A 127.0.0.1 -f /etc/frr/nhrpd.conf -i /run/frr/nhrpd.pid",
            "i=0; while [ ! -S /run/frr/nhrpd.vty ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
            "[ -S /run/frr/nhrpd.vty ]",
        ]
        if self.bgpd:
            lines += [
                "chown frr:frr /etc/frr/bgpd.conf",
                "/usr/lib/frr/bgpd -d -A 127.0.0.1 -f /etc/frr/bgpd.conf -i /run/frr/bgpd.pid",
                "i=0; while [ ! -S /run/frr/bgpd.vty ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
                "[ -S /run/frr/bgpd.vty ]",
            ]
        return "\n".join(lines) + "\n"


# --- the lab -----------------------------------------------------------------------------------


class Lab:
    def __init__(self, advpnd: str, advpnctl: str, capture: bool = True, suite: str = "bookworm"):
        self.suite = suite
        self.advpnd, self.advpnctl = os.path.abspath(advpnd), os.path.abspath(advpnctl)
        self.tag = f"{NS_PREFIX}{os.getpid()}"
        self.sw = f"{self.tag}-sw"
        self.capture = capture
        self.namespaces: list[str] = []
        self.guests: dict[str, Guest] = {}
        self.daemons: list[Daemon] = []
        self.helpers: list[subprocess.Popen] = []
        self.dir = ""
        self.reaper: Optional[subprocess.Popen] = None
        self.failed = False
        self.t0 = time.monotonic()

    # context manager: cleanup always runs, also on exceptions and KeyboardInterrupt
    def __enter__(self) -> "Lab":
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.failed = True
        self.close()

    def open(self) -> None:
        clean_stale()
        self.rootfs = build_rootfs(self.suite)
        self.dir = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")
        self.reaper = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--reap", str(os.getpid()), self.tag, self.dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.chmod(self.dir, 0o755)
        self.labdir = os.path.join(self.dir, "lab")
        self.uml_dir = os.path.join(self.dir, "uml")
        os.makedirs(self.labdir)
        os.makedirs(self.uml_dir)
        # The guests' init (the rootfs's stub execs /lab/guest-init.sh).
        shutil.copy(os.path.join(HERE, "guest-init.sh"), os.path.join(self.labdir, "guest-init.sh"))
        self._add_ns(self.sw)
        sh(["ip", "-n", self.sw, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", self.sw, "link", "set", "br0", "up"])
        if self.capture:
            pcap = os.path.join(self.dir, "bridge.pcap")
            self.helpers.append(subprocess.Popen(
                # -Z root: no privilege drop, which would clear PR_SET_PDEATHSIG.
                ["ip", "netns", "exec", self.sw, "tcpdump", "-Z", "root", "-q", "-n", "-U", "-i", "br0",
                 "-w", pcap],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_runner))
        log(f"lab {self.tag} in {self.dir}")

    def _add_ns(self, name: str) -> None:
        sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        sh(["ip", "-n", name, "link", "set", "lo", "up"])

    def add_host(self, role: str, address: str, prefix: int = 24, gateway: str = "",
                 ns: str = "", bridge: str = "br0") -> str:
        """A namespace for an advpnd daemon, wired into a bridge by a veth."""
        name = f"{self.tag}-{role}"
        self._add_ns(name)
        sw = ns or self.sw
        sh(["ip", "-n", sw, "link", "add", f"v-{role}"[:15], "type", "veth", "peer", "name", "eth0",
            "netns", name])
        sh(["ip", "-n", sw, "link", "set", f"v-{role}"[:15], "master", bridge, "up"])
        sh(["ip", "-n", name, "addr", "add", f"{address}/{prefix}", "dev", "eth0"])
        sh(["ip", "-n", name, "link", "set", "eth0", "up"])
        if gateway:
            sh(["ip", "-n", name, "route", "add", "default", "via", gateway])
        return name

    def add_nat(self, role: str, outside: str, inside: str) -> str:
        """A NAT router namespace: outside on br0, inside bridge brn, nftables masquerade."""
        name = self.add_host(role, outside)
        sh(["ip", "-n", name, "link", "add", "brn", "type", "bridge"])
        sh(["ip", "-n", name, "addr", "add", f"{inside}/24", "dev", "brn"])
        sh(["ip", "-n", name, "link", "set", "brn", "up"])
        sh(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        rules = ('table ip advpnd_nat {\n chain post {\n  type nat hook postrouting priority 100;\n'
                 '  oifname "eth0" masquerade\n }\n}\n')
        sh(["ip", "netns", "exec", name, "nft", "-f", "-"], input=rules)
        return name

    def add_guest(self, name: str, node: FrrNode, ns: str = "", bridge: str = "br0",
                  mem: str = "192M") -> Guest:
        ns = ns or self.sw
        sh(["ip", "-n", ns, "tuntap", "add", "dev", f"tap-{name}", "mode", "tap"])
        sh(["ip", "-n", ns, "link", "set", f"tap-{name}", "master", bridge, "up"])
        mac = "02:00:%02x:00:00:%02x" % (len(self.guests) + 1, os.getpid() % 256)
        guest = Guest(self, name, ns, node.setup_script(), mem, mac)
        self.guests[name] = guest
        return guest

    def boot(self, timeout: float = 120) -> dict:
        """Boot every guest at once and wait until their setup ran; returns seconds per guest."""
        for g in self.guests.values():
            g.boot()
        return {name: g.wait_ready(timeout) for name, g in self.guests.items()}

    def hub(self, role: str, ns: str, nbma: str, overlay: str = "10.0.0.1", dialect: str = "frr",
            password: str = "", extra: str = "") -> Daemon:
        cfg = f"""[hub]
nbma_address = "{nbma}"
protocol_address = "{overlay}"
gre_key = {GRE_KEY}
tun_name = "advpnd0"
overlay_prefix_length = 24
database = "{self.dir}/{role}.db"
control_socket = "{self.dir}/{role}.sock"
log_level = "debug"
dialect = "{dialect}"

[ipsec]
provider = "none"   # the interop peers speak clear GRE in this lab (no charon beside this hub)

[registration]
# FRR spokes run `ip nhrp registration no-unique` in this lab; advpnd's refuse would apply
# only to unique registrations.
unique = "overwrite"

[authentication]
{f'password = "{password}"' if password else ''}

[redirect]
enabled = true
rate_per_minute = 4
burst = 1

[store]
synchronous = "normal"
{extra}
"""
        d = Daemon(self, role, "hub", ns, cfg)
        self.daemons.append(d)
        d.start()
        return d

    def spoke(self, role: str, ns: str, nbma: str, overlay: str, hub_nbma: str,
              hub_overlay: str = "10.0.0.1", dialect: str = "frr", password: str = "",
              holding_time: int = 600, vici_socket: str = "", psk: str = "", extra: str = "") -> Daemon:
        if vici_socket:
            ipsec = f"""# strongSwan over VICI: tunnel mode with GRE-only selectors (kernel-libipsec host side).
provider = "strongswan"
vici_socket = "{vici_socket}"
mode = "tunnel"
ike_proposals = ["aes256-sha256-modp2048"]
esp_proposals = ["aes256-sha256"]
psk = "{psk}"
"""
        else:
            ipsec = """# Clear GRE (scenario 5: no IPsec): the guests' kernel mGRE carries no ESP either.
provider = "none"
"""
        cfg = f"""[spoke]
nbma_address = "{nbma}"
protocol_address = "{overlay}"
overlay_prefix_length = 24
gre_key = {GRE_KEY}
tun_name = "advpnd0"
mtu = 1400
control_socket = "{self.dir}/{role}.sock"
log_level = "debug"
dialect = "{dialect}"
holding_time = {holding_time}
unique = false

[[nhs]]
nbma_address = "{hub_nbma}"
protocol_address = "{hub_overlay}"

[authentication]
{f'password = "{password}"' if password else ''}

[shortcuts]
idle_timeout = 120
connect_timeout = 30

[ipsec]
{ipsec}
{extra}"""
        d = Daemon(self, role, "spoke", ns, cfg)
        self.daemons.append(d)
        d.start()
        return d

    def frr(self, role: str, ns: str, bgpd_conf: str) -> str:
        """zebra and bgpd in an advpnd namespace (the host side of the lab), each with its own pid
        file, zebra socket and vty folder under the lab's folder; close() kills them with
        everything else in the namespace. Returns the vty folder (vtysh --vty_socket)."""
        d = os.path.join(self.dir, f"{role}-frr")
        os.makedirs(d)
        with open(os.path.join(d, "zebra.conf"), "w") as f:
            f.write(f"hostname {role}\n")
        with open(os.path.join(d, "bgpd.conf"), "w") as f:
            f.write(bgpd_conf)
        for path in [d, *[os.path.join(d, n) for n in os.listdir(d)]]:
            shutil.chown(path, "frr", "frr")
        common = ["-d", "-z", os.path.join(d, "zserv.api"), "--vty_socket", d, "-P", "0"]
        sh(["ip", "netns", "exec", ns, "/usr/lib/frr/zebra", *common, "-f", os.path.join(d, "zebra.conf"),
            "-i", os.path.join(d, "zebra.pid"), "--log", f"file:{d}/zebra.log"])
        wait_until(f"zebra in {ns}", lambda: os.path.exists(os.path.join(d, "zserv.api")), 10, 0.1)
        sh(["ip", "netns", "exec", ns, "/usr/lib/frr/bgpd", *common, "-f", os.path.join(d, "bgpd.conf"),
            "-i", os.path.join(d, "bgpd.pid"), "--log", f"file:{d}/bgpd.log"])
        wait_until(f"bgpd in {ns}", lambda: os.path.exists(os.path.join(d, "bgpd.pid")), 10, 0.1)
        return d

    def charon(self, role: str, ns: str) -> str:
        """A host-side charon for an advpnd spoke, in the spoke's namespace, with its own /run
        (charon's pid file is fixed at /run/charon.pid) and kernel-libipsec: the host kernel has
        no ESP (strongswan-netns.md). Returns its VICI socket path."""
        d = os.path.join(self.dir, f"{role}-charon")
        os.makedirs(os.path.join(d, "run"))
        sock = os.path.join(d, "charon.vici")
        with open(os.path.join(d, "strongswan.conf"), "w") as f:
            f.write("charon {\n  load_modular = no\n"
                    "  load = random nonce openssl aes sha1 sha2 hmac kdf pem pkcs1 x509 pubkey gmp"
                    " kernel-libipsec kernel-netlink socket-default vici\n"
                    f"  plugins {{\n    vici {{ socket = unix://{sock} }}\n"
                    "    kernel-libipsec { allow_peer_ts = yes }\n    kernel-netlink { fwmark = 0x47 }\n  }\n"
                    f"  filelog {{\n    lab {{ path = {d}/charon.log\n      time_format = %H:%M:%S\n"
                    "      default = 1\n    }\n  }\n}\n")
        # GRE alone into libipsec's table 220; GRE to a peer without an SA fails closed.
        sh(["ip", "-n", ns, "rule", "add", "pref", "210", "ipproto", "gre", "lookup", "220"])
        sh(["ip", "-n", ns, "route", "add", "unreachable", "default", "table", "220"])
        script = (f"mount --bind {d}/run /run && STRONGSWAN_CONF={d}/strongswan.conf "
                  "exec /usr/lib/ipsec/charon")
        with open(os.path.join(d, "charon.out"), "w") as out:
            p = subprocess.Popen(["ip", "netns", "exec", ns, "sh", "-c", script], stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                 preexec_fn=_die_with_runner)
        self.helpers.append(p)
        wait_until(f"{role} charon VICI socket", lambda: p.poll() is None and os.path.exists(sock), 15, 0.1)
        return sock

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def close(self) -> None:
        keep = os.environ.get("ADVPND_INTEROP_KEEP") == "1"
        for g in self.guests.values():
            if not self.failed:
                g.stop(timeout=8)
            g.kill()
        # All daemons at once (a spoke waits up to 5 s for purge replies, RFC 2332 5.2.5, which
        # an FRR hub never sends: FRR ignores Purge).
        for d in self.daemons:
            d.terminate()
        for d in self.daemons:
            try:
                d.stop()
            except (OSError, subprocess.TimeoutExpired):
                pass
        for p in self.helpers:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in reversed(self.namespaces):
            # Whatever still runs in our namespaces was started by this run.
            for pid in sh(["ip", "netns", "pids", ns], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh(["ip", "netns", "del", ns], check=False)
        self.namespaces.clear()
        _kill_tagged(self.tag)   # UML helpers that outlived their main process, if any
        if self.reaper and self.reaper.poll() is None:
            self.reaper.kill()
            self.reaper.wait(timeout=5)
        if self.dir:
            if self.failed or keep:
                if self.failed:
                    self.dump()
                if keep:
                    log(f"kept {self.dir}")
                else:
                    shutil.rmtree(self.dir, ignore_errors=True)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        log(f"lab {self.tag} closed after {self.elapsed():.1f}s")

    def dump(self) -> None:
        """On failure: the tails of every log, so ctest's output explains it."""
        for d in self.daemons:
            lines = [l for l in d.log_text().splitlines() if "control: command" not in l]
            print(f"--- {d.name} log (tail, control commands left out) ---\n" + "\n".join(lines[-40:]))
        for g in self.guests.values():
            print(f"--- {g.name} console (tail) ---\n{Guest.tail(g.console, 20)}")
            print(f"--- {g.name} setup.log (tail) ---\n{Guest.tail(os.path.join(g.dir, 'setup.log'), 20)}")


def ping(daemon_or_guest, target: str, count: int = 3, timeout: float = 30) -> str:
    """Ping target from an advpnd namespace (Daemon) or from a guest; returns ping's output."""
    if isinstance(daemon_or_guest, Daemon):
        p = daemon_or_guest.exec(f"ping -n -c {count} -i 0.3 -W 2 {target}", timeout=timeout)
        return p.stdout + p.stderr
    return daemon_or_guest.run(f"ping -n -c {count} -i 0.3 -W 2 {target}", timeout=timeout, check=False)


def received(ping_output: str) -> int:
    m = re.search(r"(\d+) (?:packets )?received", ping_output)
    return int(m.group(1)) if m else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--reap":
        reap(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        print("usage: lab.py --reap RUNNER_PID TAG FOLDER (internal); the scenarios are in tests/interop/",
              file=sys.stderr)
        sys.exit(2)
