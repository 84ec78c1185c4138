#include "hub/redirect_policy.h"

#include "base/log.h"

namespace advpnd::hub {

RedirectPolicy::RedirectPolicy(RedirectConfig config, nhrp::Sender hub, const Clock& clock, SendIndication send)
    : config_(config),
      hub_(std::move(hub)),
      clock_(clock),
      send_(std::move(send)),
      buckets_(config.rate, config.max_pairs) {}

void RedirectPolicy::reconfigure(const RedirectConfig& config, nhrp::Sender hub) {
  config_ = config;
  hub_ = std::move(hub);
  buckets_.set_rate(config.rate);
}

void RedirectPolicy::on_hairpin(const IpAddress& source_spoke_nbma, std::span<const std::byte> inner_packet) {
  ++stats_.hairpins;
  if (!config_.enabled) return;
  const auto addresses = nhrp::inner_addresses(inner_packet);
  if (!addresses) {
    ++stats_.unparseable;
    return;
  }
  if (!buckets_.try_take({addresses->source, addresses->destination}, clock_.now())) {
    ++stats_.rate_limited;
    return;
  }
  auto indication = nhrp::build_traffic_indication({hub_, inner_packet, nhrp::kTrafficIndicationPayload});
  if (!indication) {
    ++stats_.unparseable;
    return;
  }
  ++stats_.indications_sent;
  log::debug("redirect", "traffic indication to " + source_spoke_nbma.to_string() + " for " +
                             addresses->source.to_string() + " -> " + addresses->destination.to_string());
  send_(source_spoke_nbma, *indication);
}

}  // namespace advpnd::hub
