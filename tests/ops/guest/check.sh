#!/bin/sh
# Runs once at boot of the UML guest (systemd as PID 1): the installed
# package's hub unit, started, inspected, reloaded, stopped.
exec > /root/guest-check.log 2>&1
echo "== PID 1: $(cat /proc/1/comm); systemd $(systemctl --version | head -1)"
modprobe tun && echo "tun loaded"
ip link set lo up
ip addr add 203.0.113.1/32 dev lo          # the example hub.toml's NBMA address
echo "== systemctl start advpnd-hub"; systemctl start advpnd-hub; echo "rc=$?"
echo "== is-active: $(systemctl is-active advpnd-hub)"
pid=$(systemctl show -p MainPID --value advpnd-hub)
echo "== MainPID $pid: $(ps -o user=,cmd= -p "$pid")"
grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/"$pid"/status
echo "== ls -l /run/advpnd /var/lib/advpnd"; ls -l /run/advpnd /var/lib/advpnd
echo "== advpnctl show stats"; advpnctl show stats | head -5
echo "== systemctl reload"; systemctl reload advpnd-hub; echo "rc=$?"; sleep 1
echo "== journal (PRIORITY of each entry)"
journalctl -u advpnd-hub -o json --no-pager | sed -n 's/.*"PRIORITY":"\([0-9]\)".*"MESSAGE":"\([^"]*\)".*/\1 \2/p'
journalctl -u advpnd-hub -o verbose --no-pager | grep -E 'PRIORITY=|MESSAGE=' | paste - - | sed 's/^ *//' | head -20
echo "== systemctl stop"; systemctl stop advpnd-hub; echo "rc=$? is-active: $(systemctl is-active advpnd-hub)"
echo "== journal, last lines"; journalctl -u advpnd-hub --no-pager | tail -12
echo "== DONE"
sync
systemctl poweroff --no-block
