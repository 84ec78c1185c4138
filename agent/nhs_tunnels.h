// Protected paths to the NHSs (ARCHITECTURE.md: spoke-to-hub tunnels come
// up at start; spoke-to-spoke ones on demand). The agent asks the IPsec
// provider for a tunnel to every configured NHS at start and keeps it up:
// a Down (charon restarted, peer gone) is followed by a new ensure after
// kNhsRetry; a Failed attempt is retried by the provider itself. When a
// tunnel comes up, the NHS's registration is sent at once instead of
// waiting for its retransmission timer (with GRE steered into the SAs and
// failing closed, strongswan-netns.md, every send before that failed).
//
// It also sits between the provider and the shortcut layer, which sees it
// as the provider: tunnel events for NHS addresses go to both, and a
// shortcut that resolved to an NHS's NBMA address (a prefix behind the
// hub) cannot terminate the NHS's tunnel: its terminate only reports Down.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"
#include "shortcut/ipsec_provider.h"

namespace advpnd::agent {

class NhsTunnels final : public shortcut::IpsecProvider {
 public:
  // Called when the tunnel to an NHS comes up.
  using PathUp = std::function<void(const IpAddress& nhs_nbma)>;
  static constexpr Duration kNhsRetry = std::chrono::seconds(1);

  NhsTunnels(shortcut::IpsecProvider& provider, TimerFactory& timers, PathUp path_up);
  ~NhsTunnels() override;
  NhsTunnels(const NhsTunnels&) = delete;
  NhsTunnels& operator=(const NhsTunnels&) = delete;

  // ensure() a tunnel to each NHS now and keep it up from then on.
  void start(const std::vector<IpAddress>& nhs_nbmas);
  [[nodiscard]] bool up(const IpAddress& nhs_nbma) const { return up_.contains(nhs_nbma); }

  // shortcut::IpsecProvider, for the shortcut layer.
  void set_listener(Listener listener) override { shortcut_listener_ = std::move(listener); }
  void ensure(const IpAddress& peer) override { provider_.ensure(peer); }
  void terminate(const IpAddress& peer) override;
  [[nodiscard]] std::optional<shortcut::TunnelCounters> counters(const IpAddress& peer) const override {
    return provider_.counters(peer);
  }
  [[nodiscard]] std::string_view name() const override { return provider_.name(); }

 private:
  void on_tunnel(const IpAddress& peer, shortcut::TunnelState state, const std::string& reason);
  void flush_deferred();

  shortcut::IpsecProvider& provider_;
  TimerFactory& timers_;
  PathUp path_up_;
  Listener shortcut_listener_;
  std::set<IpAddress> nhs_;
  std::set<IpAddress> up_;
  std::unique_ptr<Timer> retry_timer_;
  std::set<IpAddress> retry_;
  // Down reports owed to the shortcut layer (never from inside terminate()).
  std::unique_ptr<Timer> deferred_timer_;
  std::vector<IpAddress> deferred_down_;
};

}  // namespace advpnd::agent
