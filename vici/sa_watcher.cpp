#include "vici/sa_watcher.h"

#include <utility>
#include <vector>

#include "base/log.h"

namespace advpnd::vici {
namespace {
constexpr std::string_view kLog = "ipsec-peers";

void add_inner_sources(IpsecPeer& peer, const IkeSa& sa) {
  for (const auto& child : sa.children) {
    for (const auto& host : child.remote_ts_hosts()) {
      auto address = IpAddress::parse(host);
      if (!address) continue;
      bool known = false;
      for (const auto& existing : peer.inner_sources) known = known || existing == *address;
      if (!known) peer.inner_sources.push_back(*address);
    }
  }
}
}  // namespace

std::optional<IpsecPeer> to_peer(const IkeSa& sa) {
  if (sa.state != "ESTABLISHED") return std::nullopt;
  auto address = IpAddress::parse(sa.remote_host);
  if (!address) return std::nullopt;
  IpsecPeer peer;
  peer.ike_sa = sa.unique_id;
  peer.identity = sa.remote_id;
  peer.ike_address = *address;
  peer.ike_port = sa.remote_port;
  peer.behind_nat = sa.nat_remote;
  add_inner_sources(peer, sa);
  return peer;
}

SaWatcher::SaWatcher(platform::EventLoop& loop, ClientOptions options) : client_(loop, std::move(options)) {
  client_.set_state_handler([this](bool up, const std::string& reason) { on_state(up, reason); });
  ike_updown_ = client_.subscribe("ike-updown", [this](const Message& m) { on_ike_updown(m); });
  child_updown_ = client_.subscribe("child-updown", [this](const Message& m) { on_child_updown(m); });
  ike_rekey_ = client_.subscribe("ike-rekey", [this](const Message&) { resync(); });
  child_rekey_ = client_.subscribe("child-rekey", [this](const Message&) { resync(); });
}

void SaWatcher::start() {
  client_.start();
  log::info(kLog, "following the IKE_SAs of charon at " + client_.options().socket_path);
}

void SaWatcher::on_state(bool connected, const std::string& reason) {
  if (connected) {
    resync();
    return;
  }
  if (table_.size() != 0) {
    log::warning(kLog, "charon connection lost (" + reason + "): forgetting " + std::to_string(table_.size()) +
                           " IKE_SAs; NHRP is refused until charon is back");
  }
  table_.clear();
  resyncing_ = false;
  dirty_ = false;
}

void SaWatcher::on_ike_updown(const Message& event) {
  if (resyncing_) dirty_ = true;
  const bool up = event.find_bool("up");
  for (const auto& sa : parse_ike_sas(event)) {
    if (!up) {
      table_.remove(sa.unique_id);
      log::debug(kLog, "IKE_SA " + std::to_string(sa.unique_id) + " of " + sa.remote_id + " at " + sa.remote_host +
                           " down");
      continue;
    }
    if (auto peer = to_peer(sa)) {
      log::debug(kLog, "IKE_SA " + std::to_string(sa.unique_id) + " of " + peer->identity + " at " + sa.remote_host +
                           ":" + std::to_string(sa.remote_port) + " up");
      table_.upsert(std::move(*peer));
    }
  }
}

void SaWatcher::on_child_updown(const Message& event) {
  if (!event.find_bool("up")) {
    resync();  // which selectors remain is easiest to ask
    return;
  }
  if (resyncing_) dirty_ = true;
  for (const auto& sa : parse_ike_sas(event)) {
    auto peer = to_peer(sa);
    if (!peer) continue;
    // The event names the new CHILD_SA only: keep the ones already known.
    for (const auto& known : table_.peers()) {
      if (known.ike_sa != peer->ike_sa) continue;
      for (const auto& inner : known.inner_sources) {
        bool have = false;
        for (const auto& mine : peer->inner_sources) have = have || mine == inner;
        if (!have) peer->inner_sources.push_back(inner);
      }
    }
    table_.upsert(std::move(*peer));
  }
}

void SaWatcher::resync() {
  if (!client_.connected()) return;
  if (resyncing_) {
    dirty_ = true;
    return;
  }
  resyncing_ = true;
  dirty_ = false;
  auto sas = std::make_shared<std::vector<IkeSa>>();
  std::weak_ptr<int> alive = alive_;
  // Without noblock: a listing that skipped an IKE_SA busy in an exchange
  // would drop that peer from the table (seen against real charon right
  // after an SA came up). Charon holds an IKE_SA only while it processes
  // one message, so the wait is short.
  client_.stream(
      "list-sas", Message(), "list-sa",
      [sas](const Message& event) {
        for (auto& sa : parse_ike_sas(event)) sas->push_back(std::move(sa));
      },
      [this, alive, sas](const Response& response) {
        if (alive.expired()) return;
        resyncing_ = false;
        if (!response.ok()) {
          log::warning(kLog, "list-sas: " + response.error().message);
          return;  // a lost connection clears the table; a reconnect resyncs
        }
        ++resyncs_;
        table_.clear();
        for (const auto& sa : *sas) {
          if (auto peer = to_peer(sa)) table_.upsert(std::move(*peer));
        }
        log::debug(kLog, "resync: " + std::to_string(table_.size()) + " established IKE_SAs");
        if (dirty_) resync();
      });
}

}  // namespace advpnd::vici
