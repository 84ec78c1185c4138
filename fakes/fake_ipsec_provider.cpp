#include "fakes/fake_ipsec_provider.h"

namespace advpnd::fakes {

void FakeIpsecProvider::ensure(const IpAddress& peer) {
  ensured.push_back(peer);
  if (journal) journal->push_back("ensure " + peer.to_string());
  if (auto_up) report(peer, shortcut::TunnelState::Up);
}

void FakeIpsecProvider::terminate(const IpAddress& peer) {
  terminated.push_back(peer);
  if (journal) journal->push_back("terminate " + peer.to_string());
  report(peer, shortcut::TunnelState::Down, "terminated");
}

std::optional<shortcut::TunnelCounters> FakeIpsecProvider::counters(const IpAddress& peer) const {
  auto it = up.find(peer);
  if (it == up.end() || !it->second) return std::nullopt;
  auto counted = tunnel_counters.find(peer);
  return counted == tunnel_counters.end() ? shortcut::TunnelCounters{} : counted->second;
}

void FakeIpsecProvider::report(const IpAddress& peer, shortcut::TunnelState state, std::string reason) {
  loop_.post([this, peer, state, reason = std::move(reason)] {
    up[peer] = state == shortcut::TunnelState::Up;
    if (listener_) listener_(peer, state, reason);
  });
}

void FakeDataplane::route_via_peer(const shortcut::Prefix& prefix, const IpAddress& peer_nbma, std::uint16_t) {
  changes.push_back({prefix, peer_nbma});
  routes[prefix] = peer_nbma;
  peer_counters.try_emplace(peer_nbma);
  if (journal) journal->push_back("route " + prefix.to_string() + " via " + peer_nbma.to_string());
}

void FakeDataplane::route_via_hub(const shortcut::Prefix& prefix) {
  changes.push_back({prefix, IpAddress{}});
  routes.erase(prefix);
  if (journal) journal->push_back("route " + prefix.to_string() + " via hub");
}

std::optional<shortcut::PeerCounters> FakeDataplane::counters(const IpAddress& peer_nbma) const {
  auto it = peer_counters.find(peer_nbma);
  if (it == peer_counters.end()) return std::nullopt;
  return it->second;
}

void FakeDataplane::traffic(const IpAddress& peer, std::uint64_t packets, std::uint64_t bytes) {
  auto& counters = peer_counters[peer];
  counters.packets_out += packets;
  counters.bytes_out += bytes;
}

std::optional<IpAddress> FakeDataplane::route(const shortcut::Prefix& prefix) const {
  auto it = routes.find(prefix);
  if (it == routes.end()) return std::nullopt;
  return it->second;
}

}  // namespace advpnd::fakes
