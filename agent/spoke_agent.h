// The spoke agent: the NHRP client (spoke/) and the shortcut layer
// (shortcut/) joined together, over the seams the daemon or a test hands
// in (NBMA transport, IPsec provider, dataplane, clock).
//
//   Traffic Indication from an NHS ──▶ ShortcutManager::on_traffic_indication
//   ShortcutManager needs a resolution ──▶ Nhc::resolve (through the primary NHS)
//   Purge Request (hub or peer)  ──▶ ShortcutManager::on_purge
//   start ──▶ a tunnel to every NHS (TunnelBroker); each one up ──▶ registration sent at once
//   shutdown ──▶ shortcuts back to the hub, tunnels down, registrations purged
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/tunnel_broker.h"
#include "base/clock.h"
#include "base/nbma_transport.h"
#include "shortcut/shortcut_manager.h"
#include "spoke/nhc.h"

namespace advpnd::agent {

struct SpokeAgentConfig {
  spoke::NhcConfig nhc;
  shortcut::ShortcutConfig shortcuts;
  shortcut::TunnelPoolConfig tunnels;
};

class SpokeAgent {
 public:
  SpokeAgent(SpokeAgentConfig config, NbmaTransport& transport, shortcut::IpsecProvider& provider,
             shortcut::ShortcutDataplane& dataplane, const Clock& clock, TimerFactory& timers);
  ~SpokeAgent();
  SpokeAgent(const SpokeAgent&) = delete;
  SpokeAgent& operator=(const SpokeAgent&) = delete;

  [[nodiscard]] Status<std::string> start();
  // SIGHUP: one more NHS, its tunnel brought up and registered like those at start.
  [[nodiscard]] Status<std::string> add_nhs(const spoke::NhsEntry& entry);
  // Clean shutdown (SIGTERM): shortcuts first, then registrations; `done` runs when finished.
  void shutdown(std::function<void()> done);

  [[nodiscard]] spoke::Nhc& nhc() { return nhc_; }
  [[nodiscard]] const spoke::Nhc& nhc() const { return nhc_; }
  [[nodiscard]] shortcut::ShortcutManager& shortcuts() { return shortcuts_; }
  [[nodiscard]] const shortcut::ShortcutManager& shortcuts() const { return shortcuts_; }
  [[nodiscard]] const TunnelBroker& tunnels() const { return tunnels_; }

 private:
  // shortcut::Resolver on top of the NHC's resolution client.
  class NhcResolver final : public shortcut::Resolver {
   public:
    explicit NhcResolver(spoke::Nhc& nhc) : nhc_(nhc) {}
    void resolve(const IpAddress& target, Done done) override;

   private:
    spoke::Nhc& nhc_;
  };

  spoke::Nhc nhc_;
  NhcResolver resolver_;
  TunnelBroker tunnels_;  // between the provider and the shortcut layer
  shortcut::ShortcutManager shortcuts_;
};

}  // namespace advpnd::agent
