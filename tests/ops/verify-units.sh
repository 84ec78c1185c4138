#!/bin/sh
# systemd-analyze verify on the units as cmake configured them, with the
# binary path pointed at this build's advpnd (verify checks that ExecStart=
# is executable). Exit 77 (ctest: skipped) without systemd-analyze.
# Usage: verify-units.sh UNIT_DIR ADVPND_BINARY INSTALLED_SBINDIR
set -eu
units=$1 binary=$2 sbindir=$3
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found: skipped"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/advpnd-units.XXXXXX")
trap 'rm -rf "$work"' EXIT
for unit in advpnd-hub.service advpnd-spoke.service advpnd-spoke@.service; do
  sed "s|$sbindir/advpnd|$binary|g" "$units/$unit" > "$work/$unit"
done
# The template is verified through an instance of it.
cp "$work/advpnd-spoke@.service" "$work/advpnd-spoke@site1.service"
cd "$work"
status=0
for unit in advpnd-hub.service advpnd-spoke.service advpnd-spoke@site1.service; do
  # verify exits 0 on some warnings; any output at all is a finding here.
  if ! output=$(systemd-analyze verify --man=no "$work/$unit" 2>&1) || [ -n "$output" ]; then
    echo "FAIL $unit:"; echo "$output"; status=1
  else
    echo "ok   $unit"
  fi
done
exit $status
