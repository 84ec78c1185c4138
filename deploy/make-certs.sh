#!/bin/sh
# A small CA and one certificate per advpnd node, made with strongSwan's
# `pki` tool (package strongswan-pki). Each node's certificate carries its
# overlay (NHRP protocol) address as an IP subjectAltName, and the node uses
# that address as its IKE identity: charon then proves, in IKE_AUTH, that
# the identity is in a certificate the CA signed, and the hub binds the
# registrations of that IKE_SA to it (docs/trust.md).
#
#   make-certs.sh DIR ca                  DIR/ca.key, DIR/ca.crt (once; keep ca.key offline)
#   make-certs.sh DIR node NAME ADDRESS   DIR/NAME.key, DIR/NAME.crt for overlay ADDRESS
#
# e.g. on the machine that holds the CA:
#   deploy/make-certs.sh /root/advpnd-pki ca
#   deploy/make-certs.sh /root/advpnd-pki node hub 10.0.0.1
#   deploy/make-certs.sh /root/advpnd-pki node spoke1 10.0.0.11
# then copy ca.crt to every node, NAME.crt and NAME.key to that node only:
# the hub's charon loads them through deploy/hub-swanctl-certs.conf, a spoke
# names them in spoke.toml [ipsec] (certificate, private_key, ca_certificate,
# local_id = its overlay address). The lab (deploy/lab/lab.py, Lab(auth="certs"))
# runs this very script.
#
# Keys are ECDSA P-256 (fast to make and to sign with); LIFETIME (days,
# default 730 for nodes, 3650 for the CA) sets the validity.
set -eu

usage() {
  echo "usage: $0 DIR ca | $0 DIR node NAME ADDRESS" >&2
  exit 2
}

[ $# -ge 2 ] || usage
dir=$1
command -v pki >/dev/null || { echo "$0: pki not found (install strongswan-pki)" >&2; exit 1; }
mkdir -p "$dir"
umask 077

case $2 in
ca)
  [ $# -eq 2 ] || usage
  pki --gen --type ecdsa --size 256 --outform pem >"$dir/ca.key" 2>/dev/null
  pki --self --ca --lifetime "${LIFETIME:-3650}" --in "$dir/ca.key" --type ecdsa \
    --dn "CN=advpnd CA" --outform pem >"$dir/ca.crt" 2>/dev/null
  chmod 644 "$dir/ca.crt"
  ;;
node)
  [ $# -eq 4 ] || usage
  name=$3
  address=$4
  case $name in */* | .* | "") echo "$0: NAME must be a plain file name" >&2; exit 2 ;; esac
  [ -s "$dir/ca.key" ] || { echo "$0: $dir/ca.key missing: run '$0 $dir ca' first" >&2; exit 1; }
  pki --gen --type ecdsa --size 256 --outform pem >"$dir/$name.key" 2>/dev/null
  # --san with an IP address makes an iPAddress subjectAltName: the identity
  # the node's charon proves (its local id is this address).
  pki --pub --in "$dir/$name.key" --type ecdsa 2>/dev/null |
    pki --issue --lifetime "${LIFETIME:-730}" --cacert "$dir/ca.crt" --cakey "$dir/ca.key" \
      --dn "CN=$address" --san "$address" --flag serverAuth --flag clientAuth --outform pem \
      >"$dir/$name.crt" 2>/dev/null
  chmod 644 "$dir/$name.crt"
  ;;
*)
  usage
  ;;
esac
