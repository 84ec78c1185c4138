#include "node/spoke_node.h"

#include <cstdlib>

#include "base/log.h"
#include "dataplane/kernel_next_hop.h"

namespace advpnd::node {

shortcut::ShortcutDataplane& SpokeNode::pick(const SpokeSeams& seams, std::unique_ptr<dataplane::SpokeDataplane>& own,
                                             const dataplane::SpokeDataplaneConfig& config) {
  if (seams.overlay != nullptr) {
    own = std::make_unique<dataplane::SpokeDataplane>(config, *seams.overlay, seams.transport, seams.clock);
    return *own;
  }
  if (seams.external_dataplane == nullptr) {
    // A wiring bug, not a run-time condition: every caller hands in one.
    log::error("spoke", "SpokeNode: neither an overlay device nor a dataplane was given");
    std::abort();
  }
  return *seams.external_dataplane;
}

SpokeNode::SpokeNode(const SpokeNodeConfig& config, const SpokeSeams& seams, PrimaryChanged on_primary)
    : on_primary_(std::move(on_primary)) {
  shortcut::ShortcutDataplane& dataplane = pick(seams, own_dataplane_, config.dataplane);
  agent_ = std::make_unique<agent::SpokeAgent>(config.agent, seams.transport, seams.provider, dataplane, seams.clock,
                                               seams.timers);
  if (own_dataplane_) {
    agent_->nhc().set_data_frame_handler([dp = own_dataplane_.get()](const NbmaFrame& frame) { dp->on_frame(frame); });
  }
  // Overlay traffic without a shortcut follows the primary NHS (fail-over).
  agent_->nhc().servers().set_on_primary_change([this](const spoke::NhsRegistration* primary) {
    const IpAddress nbma = primary != nullptr ? primary->nbma() : IpAddress{};
    if (own_dataplane_) own_dataplane_->set_hub_nbma(nbma);
    if (on_primary_) on_primary_(nbma);
  });
  // Link-local multicast goes to every NHS that is up.
  if (own_dataplane_) {
    agent_->nhc().servers().set_on_state_change(
        [this] { own_dataplane_->set_nhs_nbmas(agent_->nhc().servers().up_nbmas()); });
  }
  // A LAN our kernel routes to (connected, static, learned by BGP/OSPF) is
  // answered with that route's prefix, as Cisco spokes do; the WAN (the
  // interface toward the first NHS) and default routes are not.
  if (const dataplane::KernelRouting& routing = config.dataplane.routing; routing.routes != nullptr) {
    const auto& servers = config.agent.nhc.servers;
    const IpAddress wan_probe = servers.empty() ? IpAddress{} : servers.front().nbma;
    agent_->nhc().responder().set_routed_prefix([routing, wan_probe](const IpAddress& target) {
      return dataplane::lan_route_prefix(routing, target, wan_probe);
    });
  }
}

Status<std::string> SpokeNode::start() { return agent_->start(); }

void SpokeNode::stop(std::function<void()> done) { agent_->shutdown(std::move(done)); }

}  // namespace advpnd::node
