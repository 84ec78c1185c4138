#include "dataplane/hub_dataplane.h"

#include <algorithm>
#include <string>

#include "dataplane/ipv4_packet.h"
#include "dataplane/overlay_frame.h"
#include "nhrp/types.h"

namespace advpnd::dataplane {

HubDataplane::HubDataplane(HubDataplaneConfig config, PacketDevice& device, NbmaTransport& transport,
                           hub::NextHopServer& nhs, const Clock& clock)
    : config_(std::move(config)),
      device_(device),
      sender_(transport),
      nhs_(nhs),
      clock_(clock),
      peers_(config_.max_peers, config_.forget_idle_peer),
      multicast_limiter_(config_.multicast) {
  nhs_.set_data_frame_handler([this](const NbmaFrame& frame) { on_frame(frame); });
  device_.set_handler([this](PacketBurst packets) { on_device_burst(packets); });
}

HubDataplane::~HubDataplane() {
  nhs_.set_data_frame_handler({});
  device_.set_handler({});
}

std::optional<shortcut::PeerCounters> HubDataplane::counters(const IpAddress& peer_nbma) const {
  const PeerStats* stats = peers_.find(peer_nbma);
  if (stats == nullptr) return std::nullopt;
  return stats->counters;
}

HubDataplane::Owner HubDataplane::owner_of(const IpAddress& destination) const {
  int local_length = -1;
  for (const shortcut::Prefix& prefix : config_.local_prefixes) {
    if (prefix.length > local_length && prefix.contains(destination)) local_length = prefix.length;
  }
  // RFC 2332 5.2.1: the binding whose prefix covers the destination.
  const db::Binding* binding = nhs_.cache().longest_match(destination, clock_.unix_seconds());
  if (binding != nullptr && binding->key.prefix_len > local_length) return {false, nbma_of(*binding), false};
  if (local_length >= 0) return {true, {}, false};
  return owner_by_route(destination);
}

HubDataplane::Owner HubDataplane::owner_by_route(const IpAddress& destination) const {
  const KernelNextHop hop = kernel_next_hop(config_.routing, destination);
  switch (hop.kind) {
    case KernelNextHop::Kind::Kernel:
      return {true, {}, true};
    case KernelNextHop::Kind::OverlayGateway: {
      // The route's next hop is an overlay address: its NBMA is in the
      // binding that overlay address registered (RFC 2332 5.2.1 again), or,
      // for an NHS of the tier above, in the configuration.
      const std::optional<IpAddress> gateway = nhs_.nbma_of_overlay(hop.gateway);
      if (!gateway) return {};
      return {false, *gateway, true};
    }
    case KernelNextHop::Kind::NoRoute:
      break;
  }
  return {};
}

IpAddress HubDataplane::nbma_of(const db::Binding& binding) const {
  return binding.post_nat_nbma.empty() ? binding.key.nbma : binding.post_nat_nbma;
}

// --- spoke -> hub -------------------------------------------------------------

void HubDataplane::on_frame(const NbmaFrame& frame) {
  auto overlay = overlay_datagram(frame);
  if (!overlay) {
    drop(overlay.error(), frame.outer_source);
    return;
  }
  const InnerIpv4& header = overlay->header;
  const std::span<const std::byte> datagram = overlay->bytes;
  const MonotonicTime now = clock_.now();
  peers_.count_in(frame.outer_source, datagram.size(), now);
  if (is_ipv4_multicast(header.destination)) {
    on_multicast_frame(frame.outer_source, header, datagram, now);
    return;
  }

  const Owner owner = owner_of(header.destination);
  if (owner.local) {
    if (auto written = device_.write(datagram); !written) {
      drop(DropReason::DeviceWriteFailed, frame.outer_source);
      return;
    }
    ++stats_.to_device;
    if (owner.by_route) ++stats_.by_kernel_route;
    return;
  }
  if (owner.nbma.empty()) {
    drop(DropReason::NoRoute, header.destination);
    return;
  }
  if (owner.nbma == frame.outer_source) {
    drop(DropReason::Loop, frame.outer_source);  // back where it came from: a routing loop
    return;
  }
  forward_buffer_.assign(datagram.begin(), datagram.end());
  if (!decrement_ttl(forward_buffer_)) {
    drop(DropReason::TtlExpired, frame.outer_source);
    return;
  }
  // Inside the transport's receive callback: RawGreTransport queues this and
  // sends the batch with one sendmmsg after the read.
  if (!sender_.transport().send(owner.nbma, nhrp::kGreProtocolIpv4, forward_buffer_, header.tos)) {
    drop(DropReason::SendFailed, owner.nbma);
    return;
  }
  peers_.count_out(owner.nbma, forward_buffer_.size(), now);
  ++stats_.hairpinned;
  if (owner.by_route) ++stats_.by_kernel_route;
  // Phase 3: came from a spoke, leaves to a spoke.
  nhs_.redirect().on_hairpin(frame.outer_source, datagram);
}

// --- link-local multicast (dataplane/multicast.h) -------------------------------

bool HubDataplane::multicast_allowed(const IpAddress& destination) {
  if (!is_link_local_multicast(destination)) {
    ++stats_.multicast.not_link_local;  // needs a multicast router: not ours to flood
    drop(DropReason::Multicast, destination);
    return false;
  }
  if (!config_.multicast.enabled) {
    ++stats_.multicast.disabled;
    drop(DropReason::Multicast, destination);
    return false;
  }
  return true;
}

void HubDataplane::collect_receivers(const IpAddress& except) {
  receivers_.clear();
  const std::int64_t now = clock_.unix_seconds();
  for (const auto& [key, binding] : nhs_.cache().all()) {
    if (binding.expires_at <= now) continue;
    const IpAddress nbma = nbma_of(binding);
    if (nbma != except) receivers_.push_back(nbma);
  }
  // A spoke with several bindings (its /32 and its LAN) gets one copy.
  std::sort(receivers_.begin(), receivers_.end());
  receivers_.erase(std::unique(receivers_.begin(), receivers_.end()), receivers_.end());
}

void HubDataplane::on_multicast_frame(const IpAddress& source, const InnerIpv4& header,
                                      std::span<const std::byte> datagram, MonotonicTime now) {
  if (!multicast_allowed(header.destination)) return;
  // Only a member of the segment floods it: a source that holds a
  // registration (its post-NAT NBMA, or its own when not NATed), as Cisco
  // replicates only to and from `ip nhrp map multicast dynamic` entries.
  if (!nhs_.cache().reached_at(source)) {
    ++stats_.multicast.not_registered;
    drop(DropReason::Multicast, source);
    return;
  }
  switch (multicast_limiter_.admit(source, now)) {
    case MulticastLimiter::Verdict::SourceLimited:
      ++stats_.multicast.rate_limited_source;
      drop(DropReason::MulticastRateLimited, source);
      return;
    case MulticastLimiter::Verdict::TotalLimited:
      ++stats_.multicast.rate_limited_total;
      drop(DropReason::MulticastRateLimited, source);
      return;
    case MulticastLimiter::Verdict::Pass:
      break;
  }
  ++stats_.multicast.frames_in;
  // The hub's own IGP hears it like any router on the segment would.
  if (auto written = device_.write(datagram); !written) {
    drop(DropReason::DeviceWriteFailed, source);
  } else {
    ++stats_.multicast.to_device;
  }
  // ... and so does every other spoke: not back to the sender, TTL as it
  // came (link-local: not routed), no Traffic Indication.
  collect_receivers(source);
  if (receivers_.empty()) ++stats_.multicast.no_receiver;
  for (const IpAddress& receiver : receivers_) {
    // Queued by RawGreTransport and sent with the read's batch.
    if (!sender_.transport().send(receiver, nhrp::kGreProtocolIpv4, datagram, header.tos)) {
      drop(DropReason::SendFailed, receiver);
      continue;
    }
    peers_.count_out(receiver, datagram.size(), now);
    ++stats_.multicast.copies_out;
  }
}

// --- hub's host -> spoke --------------------------------------------------------

void HubDataplane::on_device_burst(PacketBurst packets) {
  ++stats_.bursts;
  const MonotonicTime now = clock_.now();
  outgoing_.clear();
  for (const std::span<const std::byte> packet : packets) {
    auto parsed = parse_inner_ipv4(packet);
    if (!parsed) {
      drop(drop_reason(parsed.error()), {});
      continue;
    }
    if (is_ipv4_multicast(parsed->destination)) {
      // The hub's own IGP (not rate-bounded: it is ours): one copy per spoke.
      if (!multicast_allowed(parsed->destination)) continue;
      ++stats_.multicast.frames_in;
      collect_receivers({});
      if (receivers_.empty()) ++stats_.multicast.no_receiver;
      const std::span<const std::byte> datagram = packet.first(parsed->total_length);
      for (const IpAddress& receiver : receivers_) {
        outgoing_.push_back(platform::OutgoingFrame{receiver, nhrp::kGreProtocolIpv4, datagram, parsed->tos});
        peers_.count_out(receiver, datagram.size(), now);
        ++stats_.multicast.copies_out;
      }
      continue;
    }
    const Owner owner = owner_of(parsed->destination);
    if (owner.nbma.empty()) {
      drop(DropReason::NoRoute, parsed->destination);
      continue;
    }
    if (owner.by_route) ++stats_.by_kernel_route;
    const std::span<const std::byte> datagram = packet.first(parsed->total_length);
    outgoing_.push_back(platform::OutgoingFrame{owner.nbma, nhrp::kGreProtocolIpv4, datagram, parsed->tos});
    peers_.count_out(owner.nbma, datagram.size(), now);
  }
  if (outgoing_.empty()) return;
  const std::size_t sent = sender_.send(outgoing_);
  stats_.from_device += sent;
  if (sent < outgoing_.size()) {
    stats_.drops.add(DropReason::SendFailed, outgoing_.size() - sent - 1);
    drop(DropReason::SendFailed, outgoing_.front().destination);
  }
}

void HubDataplane::drop(DropReason reason, const IpAddress& about) {
  stats_.drops.record(reason, device_.name(), about);
}

}  // namespace advpnd::dataplane
