#include "dataplane/spoke_dataplane.h"

#include <algorithm>

#include "base/log.h"
#include "dataplane/overlay_frame.h"
#include "nhrp/types.h"

namespace advpnd::dataplane {
namespace {

constexpr const char* kLog = "dataplane";

}  // namespace

SpokeDataplane::SpokeDataplane(const SpokeDataplaneConfig& config, PacketDevice& device, NbmaTransport& transport,
                               const Clock& clock)
    : config_(config),
      device_(device),
      sender_(transport),
      clock_(clock),
      peers_(config_.max_peers, config_.forget_idle_peer),
      icmp_rate_(config_.icmp_rate, config_.icmp_max_senders),
      multicast_limiter_(config_.multicast),
      icmp_buffer_(kMaxIcmpErrorSize) {
  device_.set_handler([this](PacketBurst packets) { on_device_burst(packets); });
}

SpokeDataplane::~SpokeDataplane() { device_.set_handler({}); }

// --- routes (ShortcutDataplane) -------------------------------------------

void SpokeDataplane::route_via_peer(const shortcut::Prefix& prefix, const IpAddress& peer_nbma, std::uint16_t mtu) {
  routes_.set(prefix, Route{peer_nbma, mtu});
  (void)peers_.find_or_add(peer_nbma, clock_.now());  // counters() answers from now on
  log::info(kLog, "route " + prefix.to_string() + " via peer " + peer_nbma.to_string() + " on " + device_.name() +
                      " (inner MTU " + std::to_string(max_inner(mtu)) + ")");
}

void SpokeDataplane::route_via_hub(const shortcut::Prefix& prefix) {
  if (!routes_.erase(prefix)) return;
  log::info(kLog, "route " + prefix.to_string() + " via the hub on " + device_.name());
}

std::optional<shortcut::PeerCounters> SpokeDataplane::counters(const IpAddress& peer_nbma) const {
  const PeerStats* stats = peers_.find(peer_nbma);
  if (stats == nullptr) return std::nullopt;
  return stats->counters;
}

std::size_t SpokeDataplane::max_inner(std::uint16_t route_mtu) const {
  const std::size_t mtu = route_mtu >= kMinRouteMtu ? route_mtu : config_.default_mtu;
  const std::size_t overhead = kOuterIpv4Overhead + kGreOverhead + (config_.gre_key ? kGreKeyOverhead : 0);
  return mtu > overhead ? mtu - overhead : 0;
}

SpokeDataplane::NextHop SpokeDataplane::next_hop(const IpAddress& destination) const {
  if (const Route* route = routes_.lookup(destination)) return {route->peer_nbma, max_inner(route->mtu), true, false};
  // Not a shortcut: a kernel route into the overlay names the next hop (an
  // overlay address); that next hop's own shortcut, if any, carries it.
  const KernelNextHop hop = kernel_next_hop(config_.routing, destination);
  if (hop.kind == KernelNextHop::Kind::OverlayGateway) {
    if (const Route* route = routes_.lookup(hop.gateway)) return {route->peer_nbma, max_inner(route->mtu), true, true};
  }
  return {config_.hub_nbma, max_inner(0), false, false};
}

// --- host -> NBMA -----------------------------------------------------------

void SpokeDataplane::on_device_burst(PacketBurst packets) {
  ++stats_.bursts;
  const MonotonicTime now = clock_.now();
  outgoing_.clear();
  for (const std::span<const std::byte> packet : packets) route_packet(packet, now);
  if (outgoing_.empty()) return;
  const std::size_t sent = sender_.send(outgoing_);
  if (sent < outgoing_.size()) drop(DropReason::SendFailed, outgoing_.front().destination);
  if (outgoing_.size() - sent > 1) stats_.drops.add(DropReason::SendFailed, outgoing_.size() - sent - 1);
}

bool SpokeDataplane::route_packet(std::span<const std::byte> packet, MonotonicTime now) {
  auto parsed = parse_inner_ipv4(packet);
  if (!parsed) {
    drop(drop_reason(parsed.error()), {});
    return false;
  }
  const InnerIpv4& header = *parsed;
  if (is_ipv4_multicast(header.destination)) {
    route_multicast(packet.first(header.total_length), header, now);
    return false;
  }
  const NextHop hop = next_hop(header.destination);
  if (hop.nbma.empty()) {
    drop(DropReason::NoRoute, header.destination);
    return false;
  }
  const std::span<const std::byte> datagram = packet.first(header.total_length);
  if (datagram.size() > hop.max_inner) {
    if (header.dont_fragment()) {
      // RFC 1191 section 4: a router that cannot forward a DF packet
      // answers "fragmentation needed" with the next-hop MTU.
      send_fragmentation_needed(datagram, header, hop.max_inner, now);
      drop(DropReason::TooBig, header.destination);
      return false;
    }
    ++stats_.fragmented;  // the kernel fragments the outer packet (RFC 4459 section 3.1: outer fragmentation)
  }
  // DSCP/ECN: the outer TOS is the inner one (RFC 2983 uniform model; RFC
  // 6040 normal mode copies ECN), so voice keeps its priority on the NBMA.
  outgoing_.push_back(platform::OutgoingFrame{hop.nbma, nhrp::kGreProtocolIpv4, datagram, header.tos});
  peers_.count_out(hop.nbma, datagram.size(), now);
  ++(hop.shortcut ? stats_.packets_to_peers : stats_.packets_to_hub);
  if (hop.by_route) ++stats_.by_kernel_route;
  return true;
}

void SpokeDataplane::route_multicast(std::span<const std::byte> datagram, const InnerIpv4& header, MonotonicTime now) {
  MulticastStats& stats = stats_.multicast;
  if (!is_link_local_multicast(header.destination)) {
    ++stats.not_link_local;  // needs a multicast router (RFC 5771 section 4): not carried
    drop(DropReason::Multicast, header.destination);
    return;
  }
  if (!config_.multicast.enabled) {
    ++stats.disabled;
    drop(DropReason::Multicast, header.destination);
    return;
  }
  if (multicast_limiter_.admit_total(now) != MulticastLimiter::Verdict::Pass) {
    ++stats.rate_limited_total;
    drop(DropReason::MulticastRateLimited, header.destination);
    return;
  }
  ++stats.frames_in;
  if (nhs_nbmas_.empty()) {
    ++stats.no_receiver;
    drop(DropReason::NoRoute, header.destination);  // no NHS is up
    return;
  }
  // One unicast copy per NHS; the hub replicates to the other spokes. The
  // TTL is the sender's (link-local: not routed).
  for (const IpAddress& nhs : nhs_nbmas_) {
    outgoing_.push_back(platform::OutgoingFrame{nhs, nhrp::kGreProtocolIpv4, datagram, header.tos});
    peers_.count_out(nhs, datagram.size(), now);
    ++stats.copies_out;
  }
}

void SpokeDataplane::send_fragmentation_needed(std::span<const std::byte> packet, const InnerIpv4& header,
                                               std::size_t max_inner, MonotonicTime now) {
  if (!may_send_icmp_error_about(header, packet)) return;
  if (!icmp_rate_.try_take(header.source, now)) {
    ++stats_.icmp_rate_limited;
    return;
  }
  const auto mtu = static_cast<std::uint16_t>(std::min<std::size_t>(max_inner, 0xffff));
  const std::span<const std::byte> icmp = build_fragmentation_needed(packet, header.destination, mtu, icmp_buffer_);
  if (icmp.empty()) return;
  if (auto written = device_.write(icmp); !written) {
    drop(DropReason::DeviceWriteFailed, header.source);
    return;
  }
  ++stats_.icmp_sent;
}

// --- NBMA -> host -----------------------------------------------------------

void SpokeDataplane::on_frame(const NbmaFrame& frame) {
  auto overlay = overlay_datagram(frame);
  if (!overlay) {
    drop(overlay.error(), frame.outer_source);
    return;
  }
  const std::span<const std::byte> datagram = overlay->bytes;
  peers_.count_in(frame.outer_source, datagram.size(), clock_.now());
  if (auto written = device_.write(datagram); !written) {
    drop(DropReason::DeviceWriteFailed, frame.outer_source);
    return;
  }
  ++stats_.packets_from_nbma;
}

void SpokeDataplane::drop(DropReason reason, const IpAddress& about) {
  stats_.drops.record(reason, device_.name(), about);
}

}  // namespace advpnd::dataplane
