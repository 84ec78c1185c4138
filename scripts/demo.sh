#!/usr/bin/env bash
# The README's "run it" command: builds advpnd, then shows what it does so far.
#  1. decodes the shipped sample capture of a DMVPN phase 3 exchange (made by
#     advpnd's own packet builders), packet by packet, with checksum and
#     byte-for-byte round-trip verdicts;
#  2. runs a hub in a private network namespace, registers simulated spokes
#     over real raw GRE sockets, shows them with advpnctl, kills the hub with
#     SIGKILL and shows that the restarted hub serves them again from SQLite.
# Needs root (namespaces, raw sockets). Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target advpnd advpnctl hub_load >/dev/null
bin="$root/build/default"

printf '\n== 1. The NHRP codec on a DMVPN phase 3 exchange (deploy/samples/dmvpn-phase3.pcap)\n'
"$bin/app/advpnd" decode deploy/samples/dmvpn-phase3.pcap | python3 scripts/show-decoded.py
echo "(full JSON: build/default/app/advpnd decode deploy/samples/dmvpn-phase3.pcap)"

printf '\n== 2. A hub whose registrations survive kill -9\n'
ns="advpnd-demo-$$"
work=$(mktemp -d /tmp/advpnd-demo.XXXXXX)
hub_pid=""
cleanup() {
  [ -n "$hub_pid" ] && kill -9 "$hub_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
cat > "$work/hub.toml" <<TOML
[hub]
nbma_address = "127.0.0.1"
protocol_address = "10.0.0.1"
database = "$work/hub.db"
control_socket = "$work/hub.sock"
TOML
start_hub() {
  ip netns exec "$ns" "$bin/app/advpnd" hub --config "$work/hub.toml" 2>>"$work/hub.log" &
  hub_pid=$!
  for _ in $(seq 50); do [ -S "$work/hub.sock" ] && return; sleep 0.1; done
  echo "hub did not start:"; cat "$work/hub.log"; exit 1
}
ctl() { "$bin/app/advpnctl" --socket "$work/hub.sock" "$@"; }

start_hub
echo "\$ hub_load --spokes 5   (five spokes register over raw GRE from 127.16.0.1-5)"
ip netns exec "$ns" "$bin/bench/hub_load" --spokes 5 --timeout 10
echo "\$ advpnctl show registrations"
ctl show registrations
echo "\$ kill -9 the hub, start it again on the same SQLite file"
kill -9 "$hub_pid"; wait "$hub_pid" 2>/dev/null || true
rm -f "$work/hub.sock"
start_hub
echo "\$ advpnctl show registrations   (no spoke has re-registered)"
ctl show registrations
echo "\$ advpnctl show stats"
ctl show stats
kill -TERM "$hub_pid"; wait "$hub_pid" || true
hub_pid=""
echo
echo "Done. The hub's log is below; see README.md for what comes next."
sed -n '1,12p' "$work/hub.log"
