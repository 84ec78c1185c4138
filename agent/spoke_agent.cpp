#include "agent/spoke_agent.h"

#include <algorithm>

#include "base/log.h"

namespace advpnd::agent {
namespace {
constexpr std::string_view kLog = "spoke";

shortcut::Resolution to_resolution(const spoke::ResolutionResult& result) {
  shortcut::Resolution out;
  out.ok = result.ok();
  out.code = result.code;
  out.error = result.error;
  if (out.ok) {
    out.prefix = shortcut::Prefix::of(result.prefix, result.prefix_length);
    out.peer_nbma = result.nbma;  // NAT-corrected (NHRP-WIRE.md 7.6)
    out.peer_protocol = result.protocol;
    out.holding_time = result.holding_time;
    out.mtu = result.mtu;
  }
  return out;
}
}  // namespace

void SpokeAgent::NhcResolver::resolve(const IpAddress& target, Done done) {
  nhc_.resolve(target,
               [done = std::move(done)](const spoke::ResolutionResult& result) { done(to_resolution(result)); });
}

SpokeAgent::SpokeAgent(SpokeAgentConfig config, NbmaTransport& transport, shortcut::IpsecProvider& provider,
                       shortcut::ShortcutDataplane& dataplane, const Clock& clock, TimerFactory& timers)
    : nhc_(std::move(config.nhc), transport, clock, timers),
      resolver_(nhc_),
      tunnels_(provider, clock, timers,
               [this](const IpAddress& nbma, bool up) {
                 if (up) {
                   nhc_.servers().path_up(nbma);
                 } else {
                   nhc_.servers().path_down(nbma);
                 }
               },
               TunnelBrokerConfig{config.tunnels, config.shortcuts.idle_timeout}),
      shortcuts_(config.shortcuts, resolver_, tunnels_.pool(), dataplane, clock, timers) {
  nhc_.set_traffic_indication_handler([this](const spoke::TrafficIndication& indication) {
    shortcuts_.on_traffic_indication(indication.inner_destination);
  });
  // Cisco DMVPN phase 3: the responder brings the tunnel to the requester up, then answers over it.
  // A requester we cannot reach (behind a NAT that hides it from the hub) gets the reply through
  // the primary NHS, which forwarded its request; it then initiates to us.
  nhc_.responder().set_reply_gate(
      [this](const IpAddress& requester_nbma, const IpAddress& requester_protocol,
             std::function<void(const IpAddress&)> send) {
        // Issue #12: the requester must prove its tunnel address (certificates).
        if (!requester_protocol.empty()) {
          tunnels_.pool().expect_identity(requester_nbma, requester_protocol.to_string());
        }
        tunnels_.when_up(
            requester_nbma, [send, requester_nbma] { send(requester_nbma); },
            [this, send] {
              const spoke::NhsRegistration* nhs = nhc_.servers().primary();
              if (nhs != nullptr) send(nhs->nbma());
              return nhs != nullptr;
            });
      });
  // The NHC takes purges from its NHSs and the peers it answered; a peer we shortcut to may too.
  nhc_.set_purge_authorizer([this](const IpAddress& source) {
    const auto shortcuts = shortcuts_.list();
    return std::any_of(shortcuts.begin(), shortcuts.end(),
                       [&](const shortcut::ShortcutInfo& s) { return s.peer_nbma == source; });
  });
  nhc_.set_purge_handler([this](const spoke::PurgedBinding& purged) {
    log::info(kLog, "purge of " + purged.protocol.to_string() + " from " + purged.purged_by.to_string());
    shortcuts_.on_purge(purged.protocol);
  });
}

SpokeAgent::~SpokeAgent() {
  tunnels_.detach();  // the shortcuts' leases go below; the SAs stay with charon
  nhc_.set_purge_authorizer(nullptr);
  nhc_.responder().set_reply_gate(nullptr);
  nhc_.set_traffic_indication_handler(nullptr);
  nhc_.set_purge_handler(nullptr);
}

Status<std::string> SpokeAgent::start() {
  nhc_.servers().wait_for_paths();  // a registration goes out once its tunnel is up
  auto started = nhc_.start();
  if (!started) return started;
  std::vector<IpAddress> nhs;
  for (const auto& registration : nhc_.servers().registrations()) nhs.push_back(registration->nbma());
  tunnels_.start(nhs);
  return started;
}

Status<std::string> SpokeAgent::add_nhs(const spoke::NhsEntry& entry) {
  auto added = nhc_.add_server(entry);
  if (!added) return added;
  tunnels_.start({entry.nbma});
  return added;
}

void SpokeAgent::shutdown(std::function<void()> done) {
  shortcuts_.close_all("shutting down");
  nhc_.shutdown(std::move(done));
}

}  // namespace advpnd::agent
