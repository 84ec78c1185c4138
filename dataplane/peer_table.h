// PeerTable: PeerStats by NBMA address, bounded. A spoke or hub may hear
// from any number of NBMA sources, so the table keeps at most `max_peers`;
// when full, peers idle for `forget_after` are dropped (their counters
// restart from zero if they come back: the shortcut layer only compares
// successive readings), and traffic of peers that still do not fit is
// counted in `untracked()` instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "base/clock.h"
#include "base/ip_address.h"
#include "dataplane/dataplane_stats.h"

namespace advpnd::dataplane {

class PeerTable {
 public:
  PeerTable(std::size_t max_peers, Duration forget_after) : max_peers_(max_peers), forget_after_(forget_after) {}

  // The peer's stats, created if needed; null when the table is full.
  PeerStats* find_or_add(const IpAddress& peer, MonotonicTime now);
  [[nodiscard]] const PeerStats* find(const IpAddress& peer) const;

  void count_in(const IpAddress& peer, std::size_t bytes, MonotonicTime now) {
    if (PeerStats* stats = lookup(peer, now)) {
      stats->count_in(bytes, now);
    } else {
      untracked_.count_in(bytes, now);
    }
  }
  void count_out(const IpAddress& peer, std::size_t bytes, MonotonicTime now) {
    if (PeerStats* stats = lookup(peer, now)) {
      stats->count_out(bytes, now);
    } else {
      untracked_.count_out(bytes, now);
    }
  }

  [[nodiscard]] std::size_t size() const { return peers_.size(); }
  [[nodiscard]] const PeerStats& untracked() const { return untracked_; }
  [[nodiscard]] const std::unordered_map<IpAddress, PeerStats>& all() const { return peers_; }

 private:
  // find_or_add with a one-entry cache: a burst usually goes to one peer.
  PeerStats* lookup(const IpAddress& peer, MonotonicTime now) {
    if (last_ != nullptr && last_peer_ == peer) return last_;
    last_ = find_or_add(peer, now);
    last_peer_ = peer;
    return last_;
  }
  void forget_idle(MonotonicTime now);

  std::size_t max_peers_;
  Duration forget_after_;
  std::unordered_map<IpAddress, PeerStats> peers_;  // node-based: pointers stay valid across inserts
  PeerStats untracked_;
  IpAddress last_peer_;
  PeerStats* last_ = nullptr;
};

}  // namespace advpnd::dataplane
