#!/usr/bin/env bash
# Hub load benchmark: N simulated spokes over real raw GRE sockets on
# loopback, all registering at once, then resolving at a fixed rate; in a
# private network namespace so nothing leaves it. Prints hub_load's JSON
# (time until all N acknowledged durably, acks/s, p50/p99 ack latency,
# resolution throughput and p50/p99 latency, hub peak RSS), one line per run,
# then the store's file sizes after the run (hub.db and its WAL, issue #10:
# the WAL must stay bounded while the hub runs).
#
#   [LOG_LEVEL=info] [WINDOW=N] bench/run-hub-load.sh [SPOKES] [RUNS] [RATE]   defaults 100000 5 50000
# WINDOW: registrations outstanding at once (hub_load's --window, 4096 by default);
# RATE 0: the storm only, no resolution phase.
# DATA_RATE=N: overlay data frames/s hair-pinned through the hub, alone for
# DATA_BASELINE s (3) and then during the storm (hub_load's --data-rate):
# the hub's forwarding rate, loss and latency with and without the storm.
# ADVPND=path: the hub binary to measure (default: this build's), e.g. an
# older build for a before/after comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
spokes=${1:-100000}
runs=${2:-5}
rate=${3:-50000}
bin=build/default
advpnd=${ADVPND:-$bin/app/advpnd}
[ -x "$advpnd" ] && [ -x "$bin/bench/hub_load" ] || {
  echo "build first: cmake --preset default && cmake --build --preset default" >&2
  exit 1
}
for run in $(seq "$runs"); do
  ns="advpnd-load-$$-$run"
  work=$(mktemp -d /tmp/advpnd-load.XXXXXX)
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  cat >"$work/hub.toml" <<TOML
[hub]
nbma_address = "127.0.0.1"
protocol_address = "10.0.0.1"
overlay_prefix_length = 8   # the simulated spokes live in 10.64.0.0/10
database = "$work/hub.db"
control_socket = "$work/hub.sock"
log_level = "${LOG_LEVEL:-info}"
[ipsec]
provider = "none"   # the simulated spokes speak clear GRE; no charon here
TOML
  ip netns exec "$ns" "$advpnd" hub --config "$work/hub.toml" 2>"$work/hub.log" &
  hub=$!
  for _ in $(seq 50); do [ -S "$work/hub.sock" ] && break; sleep 0.1; done
  ip netns exec "$ns" "$bin/bench/hub_load" --spokes "$spokes" --resolutions $((rate * 5)) --rate "$((rate > 0 ? rate : 1))" \
    ${WINDOW:+--window "$WINDOW"} \
    ${DATA_RATE:+--data-rate "$DATA_RATE" --data-baseline "${DATA_BASELINE:-3}"} \
    --hub-pid "$hub" --timeout 120 || echo "{\"run\": $run, \"failed\": true}"
  echo "{\"run\": $run, \"db_bytes\": $(stat -c %s "$work/hub.db"), \"wal_bytes\": $(stat -c %s "$work/hub.db-wal" 2>/dev/null || echo 0)}"
  kill "$hub"; wait "$hub" || true
  ip netns del "$ns"
  rm -rf "$work"
done
