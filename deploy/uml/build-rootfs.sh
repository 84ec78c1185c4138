#!/bin/bash
# Build (or reuse) the root filesystem the user-mode-Linux interop guests boot from.
#
# Usage: deploy/uml/build-rootfs.sh            prints the rootfs folder on stdout
#        ADVPND_UML_CACHE=/some/dir build-rootfs.sh
#        ADVPND_UML_SUITE=trixie build-rootfs.sh   another Debian suite (default bookworm)
#
# Suites: bookworm ships FRR 8.4, whose nhrpd has no `ip nhrp authentication` at all (the
# Cisco cleartext password arrived in FRR 10.1/10.2, FRR PR 16172); the authentication
# scenario therefore boots a trixie rootfs (FRR 10.x). Everything else runs on bookworm.
#
# The guests mount this folder read-only through hostfs (root=/dev/root rootfstype=hostfs),
# all at once (see ../shared/notes/uml-lab.md). The folder is cached under
# /var/cache/advpnd/uml-rootfs-<hash>, where <hash> covers this script, the package list and
# the UML kernel version: change any of them and a new rootfs is built. The build happens in
# a temporary sibling folder that is renamed into place only when complete, so a crashed or
# interrupted build never leaves a half-built cache behind. A cached run takes milliseconds.
set -euo pipefail

cache_root=${ADVPND_UML_CACHE:-/var/cache/advpnd}

# Installed by debootstrap itself:
# netbase: /etc/protocols, or swanctl rejects dynamic[gre] (uml-lab.md).
# iptables: the hub guest's NFLOG rule that feeds hair-pinned traffic to nhrpd (redirect).
#           Used as iptables-legacy: the Debian UML kernel has nf_tables but not its ip/inet
#           families (CONFIG_NF_TABLES_IPV4/INET unset), while ip_tables, xt_NFLOG and
#           xt_hashlimit are modules. (NAT for the NAT scenario is done host-side, nftables.)
base_packages=(iproute2 kmod procps iputils-ping netbase tcpdump iptables)
# Installed afterwards with apt-get inside the new root: debootstrap's own dependency
# resolution breaks on trixie (frr pulls cron-daemon-common -> systemd, whose pre-dependency
# debootstrap installs in the same dpkg run: "pre-dependency problem - not installing
# systemd"); apt orders it correctly.
packages=(frr strongswan-charon strongswan-swanctl libstrongswan-standard-plugins)
# advpnd itself inside a guest (bench/uml-hub-load.py runs the hub there; the binaries come in
# through the lab folder): its runtime libraries (`ldd advpnd`), and strace to see where a
# guest process spends its system calls. Bookworm only: trixie renamed them (t64) and no
# scenario runs advpnd in a trixie guest.
if [[ ${ADVPND_UML_SUITE:-bookworm} == bookworm ]]; then
    packages+=(libevent-core-2.1-7 libevent-extra-2.1-7 libmnl0 libsqlite3-0 libtomlplusplus3 libpcap0.8 strace)
fi
uml_modules_dir=$(ls -d /usr/lib/uml/modules/* 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z "$uml_modules_dir" ]]; then
    echo "build-rootfs: no UML modules in /usr/lib/uml/modules (apt-get install user-mode-linux)" >&2
    exit 1
fi
kver=$(basename "$uml_modules_dir")

suite=${ADVPND_UML_SUITE:-bookworm}
case "$suite" in
    bookworm|trixie) ;;
    *) echo "build-rootfs: unsupported suite $suite (bookworm|trixie)" >&2; exit 1 ;;
esac

hash=$( { cat "$0"; printf '%s\n' "${base_packages[@]}" "${packages[@]}" "$kver" "$suite"; } | sha256sum | cut -c1-12)
final="$cache_root/uml-rootfs-$hash"

if [[ -f "$final/.advpnd-rootfs-complete" ]]; then
    echo "$final"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "build-rootfs: must run as root (debootstrap)" >&2
    exit 1
fi
for tool in debootstrap busybox; do
    command -v "$tool" >/dev/null || { echo "build-rootfs: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done

# The mirror configured for this machine (deb822 sources), first URI of the main archive.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$cache_root"
# Leftovers of crashed builds: a tmp folder whose builder pid is gone.
for stale in "$cache_root"/.uml-rootfs-tmp-*; do
    [[ -d "$stale" ]] || continue
    pid=${stale##*-}
    if ! kill -0 "$pid" 2>/dev/null; then
        rm -rf --one-file-system "$stale"
    fi
done

tmp="$cache_root/.uml-rootfs-tmp-$hash-$$"
cleanup() { rm -rf --one-file-system "$tmp"; }
trap cleanup EXIT
rm -rf "$tmp"

echo "build-rootfs: debootstrap $suite from $mirror into $tmp" >&2
include=$(IFS=,; echo "${base_packages[*]}")
timeout 900 debootstrap --variant=minbase --include="$include" "$suite" "$tmp" "$mirror" >&2
# No daemon may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$tmp/etc/resolv.conf"
timeout 900 chroot "$tmp" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${packages[@]}" >&2
rm -f "$tmp/usr/sbin/policy-rc.d" "$tmp/etc/resolv.conf"
chroot "$tmp" apt-get clean

# PID 1 of the guests is a shell script; busybox provides poweroff -f and friends.
install -m 0755 "$(command -v busybox)" "$tmp/bin/busybox"
mkdir -p "$tmp/lib/modules"
cp -a "$uml_modules_dir" "$tmp/lib/modules/$kver"
# PID 1 stub: mounts the run's lab folder (hostfs, path given as LAB=... on the kernel command
# line, which reaches init as an environment variable) and hands over to the guest init script
# in it (deploy/uml/guest-init.sh, copied there by the runner). Keeping the real init out of
# the rootfs means editing it does not force a rootfs rebuild.
mkdir -p "$tmp/lab"
cat > "$tmp/sbin/advpnd-guest-stub" <<'STUB'
#!/bin/sh
mount -t proc proc /proc
mount -t hostfs none /lab -o "$LAB" || { echo "stub: cannot mount lab $LAB"; /bin/busybox poweroff -f; }
exec /bin/sh /lab/guest-init.sh
STUB
chmod 0755 "$tmp/sbin/advpnd-guest-stub"
# Keep the cache small: docs and apt lists are not needed in a read-only guest.
rm -rf "$tmp/usr/share/doc" "$tmp/usr/share/man" "$tmp/var/lib/apt/lists"/* "$tmp/var/cache/apt"/*.bin
touch "$tmp/.advpnd-rootfs-complete"

mv -T "$tmp" "$final"
trap - EXIT
echo "build-rootfs: built $final" >&2
echo "$final"
