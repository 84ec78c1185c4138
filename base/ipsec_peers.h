// The IPsec peers seam (issue #12, ARCHITECTURE.md "Trust"): which
// established IKE_SA, and so which authenticated IKE identity, stands behind
// GRE arriving from a given source address. The hub follows its own charon
// (vici/sa_watcher.h fills an IpsecPeerTable from list-sas and the
// ike-updown / child-updown events); tests fill the table by hand.
//
// What decrypted GRE comes from: with kernel-libipsec in tunnel mode the
// inner packet carries the peer's own address, which behind a NAT is its
// private one (the CHILD_SA's remote traffic selector, narrowed to that
// host), not the NAT's (the IKE_SA's remote-host). Both index the peer. A
// selector wider than one host indexes nothing (a peer allowed 0.0.0.0/0[gre]
// could otherwise speak for every address), and a source that two IKE_SAs of
// different identities claim is ambiguous: find() answers nullptr, and the
// hub refuses, rather than pick one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/ip_address.h"

namespace advpnd {

struct IpsecPeer {
  std::uint64_t ike_sa = 0;  // charon's unique id of the IKE_SA
  // remote-id: proved by the peer's certificate (charon checks that the
  // certificate contains it), or merely claimed with a group PSK.
  std::string identity;
  IpAddress ike_address;       // remote-host (behind NAT: the NAT's public address)
  std::uint16_t ike_port = 0;  // remote-port (4500 once NAT-T floated)
  bool behind_nat = false;     // nat-remote: charon detected a NAT in front of the peer
  // The CHILD_SAs' remote traffic selectors that are one host (/32, /128).
  std::vector<IpAddress> inner_sources;

  friend bool operator==(const IpsecPeer&, const IpsecPeer&) = default;
};

class IpsecPeers {
 public:
  virtual ~IpsecPeers() = default;
  // The established IKE_SA that GRE from `source` belongs to; nullptr when
  // there is none, or when the source is ambiguous (see the top comment).
  [[nodiscard]] virtual const IpsecPeer* find(const IpAddress& source) const = 0;
  // Every established IKE_SA, by unique id (advpnctl, tests).
  [[nodiscard]] virtual std::vector<IpsecPeer> peers() const = 0;
};

// The table behind both the VICI watcher and the tests.
class IpsecPeerTable final : public IpsecPeers {
 public:
  // An IKE_SA established or changed (a CHILD_SA came or went): replaces
  // what was known of that unique id.
  void upsert(IpsecPeer peer);
  void remove(std::uint64_t ike_sa);
  void clear();
  [[nodiscard]] std::size_t size() const { return by_sa_.size(); }

  [[nodiscard]] const IpsecPeer* find(const IpAddress& source) const override;
  [[nodiscard]] std::vector<IpsecPeer> peers() const override;

 private:
  void reindex();

  std::map<std::uint64_t, IpsecPeer> by_sa_;
  // Source -> unique id; 0 marks an ambiguous source.
  std::unordered_map<IpAddress, std::uint64_t> by_source_;
};

}  // namespace advpnd
