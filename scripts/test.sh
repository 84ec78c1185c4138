#!/usr/bin/env bash
# The README's test command: installs what is missing, builds every
# configuration and runs every test. Exits non-zero if anything fails.
#
#   scripts/test.sh            everything (as CI runs it)
#   FUZZ_SECONDS=10 scripts/test.sh   a shorter fuzz run while developing
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${FUZZ_SECONDS:-60}

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

# 1. g++-12 release build: unit, integration and end-to-end tests.
step "build: default (g++-12, -Werror)"
cmake --preset default >/dev/null
cmake --build --preset default
step "test: default"
ctest --preset default

# The Debian package, built as a packager would (plain cmake, -Werror off),
# must build and be free of lintian errors (scripts/build-deb.sh).
step "package: scripts/build-deb.sh (dpkg-buildpackage + lintian)"
scripts/build-deb.sh
# ...and installed into a UML guest booted with systemd: the hub unit starts,
# runs as advpnd without capabilities, reloads and stops (needs the interop
# lab's cached root filesystem, built by the interop tests' first run).
if ls -d /var/cache/advpnd/uml-rootfs-* >/dev/null 2>&1; then
  step "package: tests/ops/package-guest.sh (systemd guest)"
  tests/ops/package-guest.sh build/deb/advpnd_*_amd64.deb
else
  echo "package guest test skipped: no cached UML root filesystem yet"
fi

# 2. clang++-14 with AddressSanitizer + UndefinedBehaviorSanitizer: the same tests.
step "build: asan (clang++-14, ASan+UBSan, -Werror)"
cmake --preset asan >/dev/null
cmake --build --preset asan
step "test: asan"
ctest --preset asan

# 3. libFuzzer: decode -> encode -> decode must be stable and never crash.
step "fuzz: nhrp codec for ${fuzz_seconds}s (ASan+UBSan)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
corpus="$root/build/fuzz/corpus/nhrp"
mkdir -p "$corpus"
seeds=("$root/fuzz/corpus/nhrp")
# Seeds from the reference captures when they are present (../shared).
shared_captures="$root/../shared/captures"
if [ -d "$shared_captures" ]; then
  capture_seeds="$root/build/fuzz/capture-seeds"
  rm -rf "$capture_seeds" && mkdir -p "$capture_seeds"
  for capture in "$shared_captures"/*.pcap; do
    build/default/app/advpnd decode --write-raw "$capture_seeds" "$capture" >/dev/null || true
  done
  seeds+=("$capture_seeds")
fi
build/fuzz/fuzz/fuzz_nhrp_codec -max_total_time="$fuzz_seconds" -print_final_stats=1 \
  -artifact_prefix="$root/build/fuzz/" "$corpus" "${seeds[@]}" 2>&1 | tail -n 25
echo "fuzz: clean for ${fuzz_seconds}s"

# The VICI codec: decode -> encode must give back the input, never crash
# (VICI_FUZZ_SECONDS=5 for a shorter run).
vici_fuzz_seconds=${VICI_FUZZ_SECONDS:-20}
step "fuzz: vici codec for ${vici_fuzz_seconds}s (ASan+UBSan)"
vici_corpus="$root/build/fuzz/corpus/vici"
mkdir -p "$vici_corpus"
build/fuzz/fuzz/fuzz_vici_message -max_total_time="$vici_fuzz_seconds" -print_final_stats=1 \
  -artifact_prefix="$root/build/fuzz/vici-" "$vici_corpus" "$root/fuzz/corpus/vici" 2>&1 | tail -n 25
echo "fuzz: vici clean for ${vici_fuzz_seconds}s"
