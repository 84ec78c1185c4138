#!/usr/bin/env bash
# Installs every Debian bookworm package advpnd needs to build and test.
# Idempotent and non-interactive: packages already present are left alone,
# and apt-get runs only when something is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config g++-12 clang-14 libclang-rt-14-dev
  # libraries
  libevent-dev libssl-dev libsqlite3-dev sqlite3 libcli11-dev doctest-dev libpcap-dev
  libtomlplusplus-dev libbenchmark-dev libmnl-dev
  # test tools: Wireshark's dissector as a second opinion, namespaces, captures
  tshark tcpdump iproute2 iputils-ping nftables procps psmisc python3 iperf3
  # promtool (Prometheus' linter) checks the metrics endpoint's text format
  prometheus
  # routing daemons next to advpnd in the namespace lab (zebra, bgpd, ospfd)
  frr
  # IPsec: stock strongSwan with kernel-libipsec (see docs and deploy/lab)
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
  # the per-spoke certificates of the lab and deploy/make-certs.sh (strongSwan's pki tool)
  strongswan-pki
  # real-kernel guests for the interop lab
  user-mode-linux debootstrap busybox-static
  # the Debian package (scripts/build-deb.sh), its unit and man page checks
  debhelper dpkg-dev fakeroot lintian systemd groff-base man-db
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# charon must not be started by package scripts on a build machine; the tests start their own.
systemctl disable --now strongswan-starter.service >/dev/null 2>&1 || true
# Only promtool is needed from the prometheus package, not a running server.
systemctl disable --now prometheus.service >/dev/null 2>&1 || true
# nor FRR: the lab starts its own zebra/bgpd/ospfd inside each namespace.
systemctl disable --now frr.service >/dev/null 2>&1 || true
echo "install-deps: done"
