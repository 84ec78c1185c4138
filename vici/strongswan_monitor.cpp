// The watching half of StrongswanProvider (strongswan_provider.h): charon's
// control connection going and coming back, the ike-updown / child-updown
// events, and the list-sas poll that reads counters and notices tunnels
// that vanished. The setting-up half is in strongswan_provider.cpp.
#include <algorithm>
#include <utility>

#include "base/log.h"
#include "vici/strongswan_provider.h"

namespace advpnd::vici {
namespace {

using shortcut::TunnelState;

constexpr std::string_view kLog = "ipsec-strongswan";

bool setting_up(PeerState state) {
  return state == PeerState::Loading || state == PeerState::Checking || state == PeerState::Initiating ||
         state == PeerState::Verifying;
}

}  // namespace

void StrongswanProvider::on_control_state(bool connected, const std::string& reason) {
  if (connected) {
    // charon is back: the initiator connections need not wait for their backoff.
    std::weak_ptr<int> alive = alive_;
    for (auto& client : initiators_) {
      client->reconnect_now();
      if (alive.expired()) return;
    }
    // Maybe a new charon: it knows none of our credentials or connections.
    // Load them now, not at the first ensure: the responder template must
    // be there before any peer initiates to us.
    if (creds_ != CredsState::Loading) {
      creds_ = CredsState::NotLoaded;
      load_credentials();
    }
    std::vector<IpAddress> retry;
    for (const auto& [address, peer] : peers_) {
      if (peer->state == PeerState::Failed) retry.push_back(address);
    }
    for (const auto& address : retry) {
      if (Peer* peer = find(address); peer != nullptr) peer->retry_timer->arm(Duration::zero());
    }
    return;
  }
  creds_ = CredsState::NotLoaded;
  // A Loading attempt waiting for credentials would wait forever: fail it now.
  auto waiters = std::move(creds_waiters_);
  creds_waiters_.clear();
  std::weak_ptr<int> alive = alive_;
  for (auto& waiter : waiters) {
    waiter("charon not reachable: " + reason);
    if (alive.expired()) return;
  }
  // The SAs died with charon (or cannot be watched any more).
  std::vector<IpAddress> gone;
  for (const auto& [address, peer] : peers_) {
    if (peer->state == PeerState::Up || peer->state == PeerState::Terminating) gone.push_back(address);
  }
  for (const auto& address : gone) {
    Peer* peer = find(address);
    if (peer == nullptr) continue;
    const bool report_down = peer->state == PeerState::Up || peer->report_down_when_gone;
    log::warning(kLog, "peer " + address.to_string() + ": " + std::string(to_string(peer->state)) +
                           " -> (none) (charon connection lost: " + reason + ")");
    peers_.erase(address);
    if (report_down) report(address, TunnelState::Down, "charon connection lost: " + reason);
    if (alive.expired()) return;
  }
}

void StrongswanProvider::on_updown(const Message& event, bool child_event) {
  const bool up = event.find_bool("up");
  bool verify = false;
  for (const auto& sa : parse_ike_sas(event)) {
    for (auto& [address, peer] : peers_) {
      if (!carries(sa, *peer)) continue;
      if (up && child_event && setting_up(peer->state) && sa.has_installed_child(config_.policy.child_name)) {
        go_up(*peer, "child-updown event");
        return;  // the listener may have changed peers_
      }
      if (!up && peer->state == PeerState::Up) verify = true;
      // A second SA for a peer that is up: both ends initiated (duplicate_sa.h).
      if (up && child_event && peer->state == PeerState::Up) verify = true;
    }
  }
  // Another SA of the same connection may still carry the traffic: ask list-sas.
  if (verify) poll_timer_->arm(Duration::zero());
}

void StrongswanProvider::poll() {
  poll_timer_->arm(config_.poll_interval);
  if (poll_in_flight_) {
    poll_again_ = true;
    return;
  }
  const bool any_up =
      std::any_of(peers_.begin(), peers_.end(), [](const auto& entry) { return entry.second->state == PeerState::Up; });
  if (!any_up || !control_->connected()) return;
  poll_in_flight_ = true;
  const MonotonicTime started = loop_.now();
  auto sas = std::make_shared<std::vector<IkeSa>>();
  control_->stream(
      "list-sas", build_list_sas(), "list-sa",
      [sas](const Message& event) {
        for (auto& sa : parse_ike_sas(event)) sas->push_back(std::move(sa));
      },
      [this, sas, started](const Response& r) {
        poll_in_flight_ = false;
        if (r.ok()) {
          std::weak_ptr<int> alive = alive_;
          on_poll(*sas, started);
          if (alive.expired()) return;
        } else {
          log::debug(kLog, "list-sas poll: " + r.error().message);
        }
        if (poll_again_) {
          poll_again_ = false;
          poll_timer_->arm(Duration::zero());
        }
      });
}

std::optional<shortcut::TunnelCounters> StrongswanProvider::installed_counters(const Peer& peer,
                                                                              const std::vector<IkeSa>& sas) const {
  shortcut::TunnelCounters sum;
  bool installed = false;
  for (const auto& sa : sas) {
    if (!carries(sa, peer)) continue;
    for (const auto& child : sa.children) {
      if (child.name != config_.policy.child_name || !child.installed()) continue;
      installed = true;
      sum.bytes_in += child.bytes_in;
      sum.bytes_out += child.bytes_out;
      sum.packets_in += child.packets_in;
      sum.packets_out += child.packets_out;
      // The most recent use over all children.
      if (child.use_in && (!sum.idle_in || std::chrono::seconds(*child.use_in) < *sum.idle_in)) {
        sum.idle_in = std::chrono::seconds(*child.use_in);
      }
      if (child.use_out && (!sum.idle_out || std::chrono::seconds(*child.use_out) < *sum.idle_out)) {
        sum.idle_out = std::chrono::seconds(*child.use_out);
      }
    }
  }
  if (!installed) return std::nullopt;
  return sum;
}

void StrongswanProvider::on_poll(const std::vector<IkeSa>& sas, MonotonicTime started) {
  std::vector<IpAddress> vanished;
  for (auto& [address, peer] : peers_) {
    if (peer->state != PeerState::Up) continue;
    if (auto counters = installed_counters(*peer, sas)) {
      peer->counters = *counters;
      drop_duplicates(*peer, sas);
    } else if (peer->up_since < started) {  // a poll sent before the SA came up proves nothing
      vanished.push_back(address);
    }
  }
  if (!vanished.empty()) confirm_vanished(std::move(vanished), started);
}

// The poll is noblock: charon skips an IKE_SA that is busy in an exchange
// (DPD, a rekey, the other end's INFORMATIONAL), so absence from it proves
// nothing. Taking it for a death tore down live tunnels in the lab (a voice
// packet lost when a reply tunnel that was also the other spoke's shortcut
// went). A blocking listing, only after such a miss, settles it; the
// counters stay as they were meanwhile.
void StrongswanProvider::confirm_vanished(std::vector<IpAddress> vanished, MonotonicTime started) {
  if (!control_->connected()) return;
  auto sas = std::make_shared<std::vector<IkeSa>>();
  control_->stream(
      "list-sas", build_list_sas({}, false), "list-sa",
      [sas](const Message& event) {
        for (auto& sa : parse_ike_sas(event)) sas->push_back(std::move(sa));
      },
      [this, sas, started, vanished = std::move(vanished)](const Response& r) {
        if (!r.ok()) {
          log::debug(kLog, "list-sas (blocking) to confirm a vanished CHILD_SA: " + r.error().message);
          return;  // the next poll asks again
        }
        std::weak_ptr<int> alive = alive_;
        for (const auto& address : vanished) {
          Peer* peer = find(address);
          if (peer == nullptr || peer->state != PeerState::Up || peer->up_since >= started) continue;
          if (auto counters = installed_counters(*peer, *sas)) {
            peer->counters = *counters;
            log::debug(kLog, "peer " + address.to_string() + ": CHILD_SA busy in the poll, still installed");
            continue;
          }
          if (!transition(*peer, PeerState::Terminating, "CHILD_SA gone from list-sas")) continue;
          begin_terminate(*peer, true, "CHILD_SA gone");
          if (alive.expired()) return;
        }
      });
}

}  // namespace advpnd::vici
