#include "node/hub_node.h"

#include <algorithm>

#include "dataplane/kernel_next_hop.h"

namespace advpnd::node {
namespace {
dataplane::HubDataplaneConfig with_own_address(dataplane::HubDataplaneConfig config, const IpAddress& own) {
  const auto host = shortcut::Prefix::host(own);
  if (std::find(config.local_prefixes.begin(), config.local_prefixes.end(), host) == config.local_prefixes.end()) {
    // (Built anew rather than inserted at begin(): g++-12 -O2 sees a
    // "potential null pointer dereference" in the inlined realloc-insert.)
    std::vector<shortcut::Prefix> local{host};
    local.insert(local.end(), config.local_prefixes.begin(), config.local_prefixes.end());
    config.local_prefixes = std::move(local);
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
  if (!config.nhs.upstream.empty()) {
    spoke::RegistrationConfig registration;
    registration.self = nhrp::Sender{config.nhs.nbma, config.nhs.protocol, config.nhs.dialect,
                                     config.nhs.auth_password};
    registration.mtu = config.nhs.mtu;
    std::vector<spoke::NhsEntry> servers;
    for (const hub::UpstreamNhs& nhs : config.nhs.upstream) servers.push_back({nhs.nbma, nhs.protocol, 0});
    upstream_sender_ = std::make_unique<spoke::PacketSender>(seams.transport, upstream_stats_);
    upstream_ = std::make_unique<spoke::NhsSet>(registration, std::move(servers), *upstream_sender_, upstream_ids_,
                                                seams.clock, seams.timers);
    nhs_.set_client_packet_handler(
        [this](const NbmaFrame& frame, const nhrp::Packet& packet) { return on_client_packet(frame, packet); });
  }
}

Status<std::string> HubNode::start() {
  auto started = nhs_.start();
  if (started && upstream_) upstream_->start();
  return started;
}

void HubNode::stop() {
  nhs_.flush();
  if (upstream_) upstream_->stop([] {});
}

// Only the NHSs of the tier above answer our registrations; anything else
// stays the NHS's (counted there as unexpected).
bool HubNode::on_client_packet(const NbmaFrame& frame, const nhrp::Packet& packet) {
  if (!upstream_->is_nhs(frame.outer_source)) return false;
  switch (packet.type) {
    case nhrp::PacketType::RegistrationReply:
      upstream_stats_.count_received(packet.type);
      if (!upstream_->on_registration_reply(frame, packet)) upstream_stats_.count_error("registration reply for no request");
      return true;
    case nhrp::PacketType::PurgeReply:
      return upstream_->on_purge_reply(packet);
    case nhrp::PacketType::ErrorIndication: {
      const auto quoted = spoke::quoted_request(packet);
      return quoted && quoted->type == nhrp::PacketType::RegistrationRequest &&
             upstream_->on_error_indication(quoted->request_id, packet);
    }
    default:
      return false;
  }
}

void HubNode::reload(const HubNodeConfig& config) { nhs_.reconfigure(config.nhs); }

}  // namespace advpnd::node
