#!/bin/sh
# Runs once at boot of the UML guest (systemd as PID 1): the installed
# package's hub unit, started, inspected, reloaded; the spoke unit started,
# registering with that hub, and stopped; then the hub stopped.
exec > /root/guest-check.log 2>&1
echo "== PID 1: $(cat /proc/1/comm); systemd $(systemctl --version | head -1)"
modprobe tun && echo "tun loaded"
ip link set lo up
ip addr add 203.0.113.1/32 dev lo          # the example hub.toml's NBMA address
# No charon in the guest: the hub takes clear GRE (the shipped default,
# provider "strongswan", would drop the spoke's GRE as not through ipsec0).
sed -i -e 's/^provider = "strongswan"/provider = "none"/' /etc/advpnd/hub.toml
grep -q '^provider = "none"' /etc/advpnd/hub.toml && echo "hub: [ipsec] provider none"
echo "== systemctl start advpnd-hub"; systemctl start advpnd-hub; echo "rc=$?"
echo "== is-active: $(systemctl is-active advpnd-hub)"
pid=$(systemctl show -p MainPID --value advpnd-hub)
echo "== MainPID $pid: $(ps -o user=,cmd= -p "$pid")"
grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/"$pid"/status
echo "== ls -l /run/advpnd /var/lib/advpnd"; ls -l /run/advpnd /var/lib/advpnd
echo "== advpnctl show stats"; advpnctl show stats | head -5
echo "== systemctl reload"; systemctl reload advpnd-hub; echo "rc=$?"; sleep 1
# The spoke unit from the installed example, made to run here: its NBMA on
# lo next to the hub's, a device of its own, clear GRE (no charon in the guest).
ip addr add 198.51.100.2/32 dev lo
sed -i -e 's/^tun_name = "advpnd0"/tun_name = "advpnd1"/' -e 's/^provider = "strongswan"/provider = "none"/' \
  /etc/advpnd/spoke.toml
echo "== systemctl start advpnd-spoke"; systemctl start advpnd-spoke; echo "rc=$?"
echo "== spoke is-active: $(systemctl is-active advpnd-spoke)"
spid=$(systemctl show -p MainPID --value advpnd-spoke)
echo "== spoke MainPID $spid: $(ps -o user=,cmd= -p "$spid")"
grep -E '^(Uid|CapEff):' /proc/"$spid"/status | sed 's/^/spoke /'
for _ in 1 2 3 4 5 6 7 8 9 10; do
  advpnctl -s /run/advpnd/spoke.sock show nhs 2>/dev/null | grep -q ' registered ' && break; sleep 0.5
done
echo "== advpnctl -s /run/advpnd/spoke.sock show nhs"; advpnctl -s /run/advpnd/spoke.sock show nhs
echo "== advpnctl show registrations (hub)"; advpnctl -s /run/advpnd/hub.sock show registrations
echo "== systemctl stop advpnd-spoke"; systemctl stop advpnd-spoke
echo "rc=$? spoke is-active: $(systemctl is-active advpnd-spoke)"
journalctl -u advpnd-spoke --no-pager | tail -6
echo "== journal (PRIORITY of each entry)"
journalctl -u advpnd-hub -o json --no-pager | sed -n 's/.*"PRIORITY":"\([0-9]\)".*"MESSAGE":"\([^"]*\)".*/\1 \2/p'
journalctl -u advpnd-hub -o verbose --no-pager | grep -E 'PRIORITY=|MESSAGE=' | paste - - | sed 's/^ *//' | head -20
echo "== systemctl stop"; systemctl stop advpnd-hub; echo "rc=$? is-active: $(systemctl is-active advpnd-hub)"
echo "== journal, last lines"; journalctl -u advpnd-hub --no-pager | tail -12
echo "== DONE"
sync
systemctl poweroff --no-block
