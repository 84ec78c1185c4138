#!/usr/bin/env bash
# The README's "run it" command: installs what is missing, builds advpnd, and
# shows the mission in a lab of network namespaces (deploy/lab/lab.py demo):
#
#   a hub and three spokes (one behind NAT), a host behind each spoke, one
#   strongSwan charon (kernel-libipsec: real IKEv2 + ESP in user space) and one
#   advpnd per node. The spokes bring up their IPsec tunnels to the hub and
#   register; a ping from the host behind spoke1 to the host behind spoke2
#   goes through the hub, the hub redirects, spoke1 resolves spoke2 and brings
#   up a direct IPsec tunnel on demand, the traffic moves onto it, and after
#   the idle timeout (shortened to 10 s here) the tunnel is torn down and
#   traffic flows through the hub again. advpnctl output at each step.
#
# Needs root (namespaces, TUN, raw sockets). Cleans up after itself, also
# after a crashed run (deploy/lab/lab.py down --name advdemo).
#   DEMO_IDLE_TIMEOUT=30 scripts/demo.sh   a longer look at the shortcut
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (network namespaces, TUN devices, raw sockets, charon)" >&2
  exit 1
fi
scripts/install-deps.sh
echo "demo: building advpnd and advpnctl (the first build takes a few minutes on 2 cores)"
cmake --preset default >/dev/null
# One progress line every 25 compiled files instead of ninja's every line.
cmake --build --preset default --target advpnd advpnctl | awk '/^\[/ { if (++n % 25 == 1) print "  " $1 " " $NF; next } { print }'
echo "demo: built; starting the lab"
exec python3 deploy/lab/lab.py demo --bin build/default/app --idle-timeout "${DEMO_IDLE_TIMEOUT:-10}"
