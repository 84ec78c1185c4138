#include "node/hub_node.h"

#include <algorithm>

#include "dataplane/kernel_next_hop.h"

namespace advpnd::node {
namespace {
dataplane::HubDataplaneConfig with_own_address(dataplane::HubDataplaneConfig config, const IpAddress& own) {
  const auto host = shortcut::Prefix::host(own);
  if (std::find(config.local_prefixes.begin(), config.local_prefixes.end(), host) == config.local_prefixes.end()) {
    config.local_prefixes.insert(config.local_prefixes.begin(), host);
  }
  return config;
}
}  // namespace

HubNode::HubNode(const HubNodeConfig& config, const HubSeams& seams)
    : nhs_(config.nhs, seams.transport, seams.store, seams.clock, seams.timers) {
  // Resolutions no binding answers follow the kernel's routes (RFC 2332 5.3).
  if (const dataplane::KernelRouting& routing = config.dataplane.routing; routing.routes != nullptr) {
    nhs_.set_route_next_hop(
        [routing](const IpAddress& destination) { return dataplane::overlay_gateway(routing, destination); });
  }
  if (seams.overlay != nullptr) {
    dataplane_ = std::make_unique<dataplane::HubDataplane>(with_own_address(config.dataplane, config.nhs.protocol),
                                                           *seams.overlay, seams.transport, nhs_, seams.clock);
  }
}

Status<std::string> HubNode::start() { return nhs_.start(); }

void HubNode::stop() { nhs_.flush(); }

void HubNode::reload(const HubNodeConfig& config) { nhs_.reconfigure(config.nhs); }

}  // namespace advpnd::node
