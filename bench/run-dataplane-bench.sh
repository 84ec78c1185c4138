#!/usr/bin/env bash
# Throughput of the user-space dataplane, spoke to spoke over a shortcut:
#
#   ns advdp-a                                   ns advdp-b
#   iperf3 -c ─▶ dpa (TUN 10.0.0.1/24)           dpb (TUN 10.0.0.2/24) ─▶ iperf3 -s
#                bench_dataplane ── raw GRE (key 42) over veth ── bench_dataplane
#                192.0.2.1 ◀───────────────────────────────────▶ 192.0.2.2
#
# Each side's dataplane is one bench_dataplane process with a static
# shortcut route to the other's NBMA address (the hub address is unused).
# For each run: iperf3 TCP, then UDP (unlimited rate, datagrams that fit the
# tunnel MTU), the receiver's Gbit/s, and the CPU% of both dataplane
# processes (utime + stime from /proc/PID/stat over the run). Prints every
# run and the medians. Only namespace-local addresses (10.0.0.0/24,
# 192.0.2.0/24) are used; everything is removed at exit.
#
#   sudo bench/run-dataplane-bench.sh [build/default/bench/bench_dataplane]
#   env: RUNS (5), DURATION seconds per iperf3 run (10), MTU of the TUNs (1472),
#        UDP_RATE offered by iperf3 -b (1G; 0 = as fast as it can, which mostly
#        measures how many packets the TUN queues drop)
set -euo pipefail

binary=${1:-build/default/bench/bench_dataplane}
runs=${RUNS:-5}
duration=${DURATION:-10}
mtu=${MTU:-1472}                 # 1500 - 20 (outer IPv4) - 8 (GRE with key)
udp_payload=$((mtu - 28))        # inner IPv4 + UDP headers
udp_rate=${UDP_RATE:-1G}

[ "$(id -u)" -eq 0 ] || { echo "run-dataplane-bench: needs root (namespaces, TUN, raw sockets)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "run-dataplane-bench: iperf3 missing (scripts/install-deps.sh)" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-dataplane-bench: $binary not built" >&2; exit 1; }

ns_a=advdp-a
ns_b=advdp-b
pids=()
work=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns del "$ns_a" 2>/dev/null || true
ip netns del "$ns_b" 2>/dev/null || true
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add va netns "$ns_a" type veth peer name vb netns "$ns_b"
ip -n "$ns_a" addr add 192.0.2.1/24 dev va
ip -n "$ns_b" addr add 192.0.2.2/24 dev vb
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set va up
ip -n "$ns_b" link set vb up

start_dataplane() {  # ns name address local peer_overlay peer_nbma
  ip netns exec "$1" "$binary" --tun "$2" --address "$3" --local "$4" --hub 192.0.2.254 \
    --route "$5=$6" --key 42 --mtu "$mtu" >"$work/$2.json" 2>"$work/$2.log" &
  last_pid=$!
  pids+=("$last_pid")
}
start_dataplane "$ns_a" dpa 10.0.0.1/24 192.0.2.1 10.0.0.2/32 192.0.2.2
pid_a=$last_pid
start_dataplane "$ns_b" dpb 10.0.0.2/24 192.0.2.2 10.0.0.1/32 192.0.2.1
pid_b=$last_pid
for _ in $(seq 50); do
  grep -q ready "$work/dpa.log" 2>/dev/null && grep -q ready "$work/dpb.log" 2>/dev/null && break
  sleep 0.1
done
grep -q ready "$work/dpa.log" && grep -q ready "$work/dpb.log" || { cat "$work"/*.log >&2; exit 1; }
ip netns exec "$ns_b" iperf3 -s -B 10.0.0.2 >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
sleep 0.5
# A TCP handshake through both dataplanes before measuring anything.
ip netns exec "$ns_a" timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.0.2/5201' ||
  { echo "no path through the dataplanes" >&2; cat "$work"/*.log >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

results="$work/results"
: >"$results"
one_run() {  # kind run
  local kind=$1 args=()
  # UDP: a 2 MiB socket buffer at the receiving iperf3 (-w), or its default
  # 208 KiB overflows whenever the server is scheduled late on 2 CPUs.
  [ "$kind" = udp ] && args=(-u -b "$udp_rate" -l "$udp_payload" -w 2M)
  local a0 b0 t0 t1 a1 b1
  a0=$(ticks "$pid_a"); b0=$(ticks "$pid_b"); t0=$(date +%s.%N)
  ip netns exec "$ns_a" iperf3 -c 10.0.0.2 -t "$duration" -J "${args[@]}" >"$work/run.json" 2>>"$work/iperf3-client.log"
  t1=$(date +%s.%N); a1=$(ticks "$pid_a"); b1=$(ticks "$pid_b")
  python3 - "$work/run.json" "$kind" "$a0" "$a1" "$b0" "$b1" "$t0" "$t1" "$hz" >>"$results" <<'PY'
import json, sys
path, kind, a0, a1, b0, b1, t0, t1, hz = sys.argv[1:]
end = json.load(open(path))["end"]
if kind == "tcp":
    gbps = end["sum_received"]["bits_per_second"] / 1e9
    extra = "retransmits=%d" % end["sum_sent"].get("retransmits", 0)
else:
    s = end.get("sum_received") or end["sum"]
    gbps = s["bits_per_second"] / 1e9
    extra = "loss=%.2f%%" % end["sum"].get("lost_percent", 0.0)
wall = float(t1) - float(t0)
cpu_a = (int(a1) - int(a0)) / int(hz) / wall * 100
cpu_b = (int(b1) - int(b0)) / int(hz) / wall * 100
print("%s %.3f %.1f %.1f %s" % (kind, gbps, cpu_a, cpu_b, extra))
PY
  tail -n 1 "$results" | awk -v r="$2" '{printf "run %d %-3s %6.3f Gbit/s  dataplane CPU: sender %5.1f%%  receiver %5.1f%%  %s\n", r, $1, $2, $3, $4, $5}'
}

echo "dataplane bench: $runs runs x ${duration}s, TUN MTU $mtu, GRE key 42, UDP offered $udp_rate, $(nproc) CPUs, $(uname -r)"
for r in $(seq "$runs"); do
  one_run tcp "$r"
  one_run udp "$r"
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for kind in ("tcp", "udp"):
    sel = [r for r in rows if r[0] == kind]
    if not sel:
        continue
    med = lambda i: statistics.median(float(r[i]) for r in sel)
    print("median %s: %.3f Gbit/s, dataplane CPU sender %.1f%%, receiver %.1f%% (%d runs)"
          % (kind.upper(), med(1), med(2), med(3), len(sel)))
PY
# Where packets were lost over all runs: the TUN queue the sending dataplane
# did not drain in time, the receiving GRE socket's buffer, the receiving
# application's UDP socket buffer.
tun_drops=$(ip -n "$ns_a" -s link show dpa | awk '/TX:/{getline; print $4}')
raw_drops=$(ip netns exec "$ns_b" awk 'NR>1 {s+=$NF} END{print s+0}' /proc/net/raw)
udp_errors=$(ip netns exec "$ns_b" awk '/^Udp:/{n++; if(n==2) print $6}' /proc/net/snmp)
echo "losses: sender TUN queue dropped $tun_drops, receiver GRE socket dropped $raw_drops, receiver UDP socket buffer errors $udp_errors"
kill "$pid_a" "$pid_b"
wait "$pid_a" "$pid_b" 2>/dev/null || true
echo "dataplane counters:"; cat "$work/dpa.json" "$work/dpb.json"
