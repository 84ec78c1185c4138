#!/usr/bin/env bash
# The .deb installed into a clean Debian guest booted with systemd as PID 1
# (a user-mode-Linux guest, as in deploy/uml/): the hub unit starts, is
# active, runs as advpnd without capabilities, logs with priorities, reloads
# and stops (guest/check.sh does that inside and writes what it saw).
#
#   tests/ops/package-guest.sh build/deb/advpnd_0.1.0_amd64.deb
#
# The guest's root is a copy of the interop lab's cached root filesystem
# (deploy/uml/build-rootfs.sh builds it) with systemd added by apt-get in a
# chroot (and udev, which makes /dev/net/tun 0666 as on any Debian system),
# in build/guest (about 300 MB). Needs root and user-mode-linux.
# Prints the guest's report and exits non-zero when a check failed.
set -euo pipefail
deb=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/ops"
# A bookworm one (the package is built on bookworm; the interop lab caches
# trixie ones too), the newest if there are several.
cache=""
for candidate in $(ls -dt /var/cache/advpnd/uml-rootfs-* 2>/dev/null); do
  if grep -q '^12\.' "$candidate/etc/debian_version" 2>/dev/null; then cache=$candidate; break; fi
done
[ -n "$cache" ] || { echo "no cached bookworm UML root filesystem: run deploy/uml/build-rootfs.sh" >&2; exit 1; }
work="$repo/build/guest"
root="$work/rootfs"

rm -rf "$root" && mkdir -p "$work"
cp -a "$cache" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount --bind /proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus udev' \
  >"$work/apt.log" 2>&1
cp "$deb" "$root/tmp/"
# As the README says an operator installs it: apt pulls the dependencies.
echo "=== install: apt install ./$(basename "$deb") (chroot of the guest's root, from $(basename "$cache"))"
chroot "$root" sh -c "cd /tmp && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./$(basename "$deb")" \
  2>&1 | tee "$work/install.log"
umount "$root/proc"; trap - EXIT

# Only what the check needs starts at boot.
rm -f "$root"/etc/systemd/system/multi-user.target.wants/{frr,strongswan-starter,cron,e2scrub_reap}.service
install -m 0755 "$here/guest/check.sh" "$root/usr/local/sbin/advpnd-guest-check.sh"
install -m 0644 "$here/guest/advpnd-guest-check.service" "$root/etc/systemd/system/"
ln -sf /etc/systemd/system/advpnd-guest-check.service \
  "$root/etc/systemd/system/multi-user.target.wants/advpnd-guest-check.service"
: >"$root/etc/machine-id"
rm -f "$root/root/guest-check.log"

echo "=== boot: linux.uml, init=/lib/systemd/systemd (console: $work/console.log)"
uml_dir=$(mktemp -d /dev/shm/advpnd-guest.XXXXXX)
TMPDIR=/dev/shm timeout 300 setsid linux.uml umid="advg$$" uml_dir="$uml_dir" mem=512M \
  root=/dev/root rootfstype=hostfs rootflags="$root" rw init=/lib/systemd/systemd \
  con0=null,fd:1 con=none ssl=none >"$work/console.log" 2>&1 || echo "linux.uml exited with $?"
rm -rf "$uml_dir"

report="$root/root/guest-check.log"
[ -f "$report" ] || { echo "no report from the guest; console:"; tail -40 "$work/console.log"; exit 1; }
cat "$report"
grep -q '^== DONE' "$report"
grep -q '^== is-active: active' "$report"
grep -q '^CapEff:	0000000000000000' "$report"
grep -q '^== MainPID [0-9]*: advpnd ' "$report"
grep -q '^== spoke is-active: active' "$report"
grep -q '^spoke CapEff:	0000000000000000' "$report"
grep -q '^== spoke MainPID [0-9]*: advpnd ' "$report"
grep -q '^203.0.113.1 .* registered ' "$report"
grep -q '^rc=0 spoke is-active: inactive' "$report"
