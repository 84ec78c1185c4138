#include "app/metrics.h"

#include <array>

#include "app/prometheus.h"
#include "nhrp/types.h"

namespace advpnd::app {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

void write_nhrp(PrometheusWriter& w, const nhrp::PacketStats& s) {
  w.family("advpnd_nhrp_packets_received_total", "counter", "NHRP packets received, by type");
  for (std::uint8_t t = nhrp::kMinPacketType; t <= nhrp::kMaxPacketType; ++t) {
    w.sample(s.received[t], {{"type", std::string(nhrp::to_string(static_cast<nhrp::PacketType>(t)))}});
  }
  w.family("advpnd_nhrp_packets_sent_total", "counter", "NHRP packets sent, by type");
  for (std::uint8_t t = nhrp::kMinPacketType; t <= nhrp::kMaxPacketType; ++t) {
    w.sample(s.sent[t], {{"type", std::string(nhrp::to_string(static_cast<nhrp::PacketType>(t)))}});
  }
  w.family("advpnd_nhrp_errors_total", "counter", "NHRP packets refused or failed, by reason");
  for (const auto& [reason, count] : s.errors) w.sample(count, {{"reason", reason}});
}

void write_transport(PrometheusWriter& w, const NbmaTransport* transport) {
  if (transport == nullptr) return;
  const TransportStats& t = transport->stats();
  w.family("advpnd_transport_frames_total", "counter", "GRE frames on the NBMA side, by direction")
      .sample(t.frames_received, {{"direction", "received"}})
      .sample(t.frames_sent, {{"direction", "sent"}});
  w.family("advpnd_transport_dropped_total", "counter", "GRE frames dropped by the NBMA transport, by reason")
      .sample(t.dropped_malformed, {{"reason", "malformed"}})
      .sample(t.dropped_wrong_key, {{"reason", "wrong-key"}})
      .sample(t.dropped_not_ipsec, {{"reason", "not-ipsec"}})
      .sample(t.send_errors, {{"reason", "send-failed"}});
}

void write_drops(PrometheusWriter& w, const dataplane::DropCounters& drops) {
  w.family("advpnd_dataplane_drops_total", "counter", "overlay packets dropped by the dataplane, by reason");
  for (std::size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    const auto reason = static_cast<dataplane::DropReason>(i);
    w.sample(drops[reason], {{"reason", std::string(dataplane::to_string(reason))}});
  }
}

void write_multicast(PrometheusWriter& w, const dataplane::MulticastStats& m) {
  w.family("advpnd_multicast_frames_total", "counter", "link-local multicast frames accepted for replication")
      .sample(m.frames_in);
  w.family("advpnd_multicast_copies_total", "counter", "link-local multicast copies, by where they went")
      .sample(m.copies_out, {{"to", "nbma"}})
      .sample(m.to_device, {{"to", "device"}});
  w.family("advpnd_multicast_dropped_total", "counter", "multicast frames not replicated, by reason")
      .sample(m.rate_limited_source, {{"reason", "rate-limited-source"}})
      .sample(m.rate_limited_total, {{"reason", "rate-limited-total"}})
      .sample(m.not_link_local, {{"reason", "not-link-local"}})
      .sample(m.disabled, {{"reason", "disabled"}})
      .sample(m.no_receiver, {{"reason", "no-receiver"}})
      .sample(m.not_registered, {{"reason", "not-registered"}});
}

}  // namespace

std::string hub_metrics(const HubParts& parts) {
  PrometheusWriter w;
  const hub::HubStats& s = parts.nhs.stats();
  write_nhrp(w, s);
  w.family("advpnd_registrations", "gauge", "registrations the hub holds (committed)")
      .sample(std::uint64_t{parts.nhs.cache().size()});
  w.family("advpnd_store_healthy", "gauge", "1 while the registration store commits, 0 after a failed commit")
      .sample(std::uint64_t{parts.nhs.store_healthy() ? 1U : 0U});
  w.family("advpnd_store_commits_total", "counter", "registration store transactions, by result")
      .sample(s.commits, {{"result", "ok"}})
      .sample(s.commit_failures, {{"result", "failed"}});
  const hub::RedirectStats& r = parts.nhs.redirect().stats();
  w.family("advpnd_redirect_indications_total", "counter", "Traffic Indications (redirects) sent")
      .sample(r.indications_sent);
  w.family("advpnd_redirect_rate_limited_total", "counter", "hair-pins not redirected because of the rate limit")
      .sample(r.rate_limited);
  write_transport(w, parts.transport);
  if (parts.dataplane != nullptr) {
    const dataplane::HubDataplaneStats& d = parts.dataplane->stats();
    w.family("advpnd_dataplane_packets_total", "counter", "overlay packets forwarded, by path")
        .sample(d.hairpinned, {{"path", "hairpin"}})
        .sample(d.to_device, {{"path", "to-hub"}})
        .sample(d.from_device, {{"path", "from-hub"}});
    write_multicast(w, d.multicast);
    write_drops(w, d.drops);
  }
  return w.take();
}

std::string spoke_metrics(const SpokeParts& parts) {
  PrometheusWriter w;
  const agent::SpokeAgent& agent = parts.agent;
  write_nhrp(w, agent.nhc().stats());
  const auto servers = agent.nhc().servers().status();
  w.family("advpnd_nhs_up", "gauge", "1 while this spoke is registered with the NHS");
  for (const spoke::NhsStatus& s : servers) {
    const bool up = s.state == spoke::RegistrationState::Registered || s.state == spoke::RegistrationState::Refreshing;
    w.sample(std::uint64_t{up ? 1U : 0U}, {{"nbma", s.nhs_nbma.to_string()}});
  }
  w.family("advpnd_nhs_tunnel_up", "gauge", "1 while the IPsec tunnel to the NHS is up");
  for (const spoke::NhsStatus& s : servers) {
    w.sample(std::uint64_t{agent.tunnels().up(s.nhs_nbma) ? 1U : 0U}, {{"nbma", s.nhs_nbma.to_string()}});
  }
  w.family("advpnd_nhs_state", "gauge", "registration state of each NHS (1 for the current state)");
  for (const spoke::NhsStatus& s : servers) {
    for (std::size_t i = 0; i < spoke::kRegistrationStates; ++i) {
      const auto state = static_cast<spoke::RegistrationState>(i);
      w.sample(std::uint64_t{s.state == state ? 1U : 0U},
               {{"nbma", s.nhs_nbma.to_string()}, {"state", std::string(spoke::to_string(state))}});
    }
  }
  std::array<std::uint64_t, static_cast<std::size_t>(shortcut::ShortcutState::Failed) + 1> by_state{};
  for (const shortcut::ShortcutInfo& s : agent.shortcuts().list()) ++by_state.at(static_cast<std::size_t>(s.state));
  w.family("advpnd_shortcuts", "gauge", "shortcuts, by state");
  for (std::size_t i = 0; i < by_state.size(); ++i) {
    w.sample(by_state[i], {{"state", std::string(shortcut::to_string(static_cast<shortcut::ShortcutState>(i)))}});
  }
  const shortcut::ShortcutStats& sc = agent.shortcuts().stats();
  w.family("advpnd_shortcuts_established_total", "counter", "shortcuts that reached the direct path")
      .sample(sc.established);
  w.family("advpnd_shortcut_failures_total", "counter",
           "shortcuts that failed, by reason (tunnel-failed: IPsec refused; connect-timeout: no SA in time)");
  for (std::size_t i = 0; i < shortcut::kFailureCauseCount; ++i) {
    w.sample(sc.failures[i], {{"reason", std::string(shortcut::to_string(static_cast<shortcut::FailureCause>(i)))}});
  }
  w.histogram("advpnd_shortcut_setup_seconds", "from the Traffic Indication to traffic on the direct path",
              sc.setup_time);
  write_transport(w, parts.transport);
  if (parts.dataplane != nullptr) {
    const dataplane::SpokeDataplaneStats& d = parts.dataplane->stats();
    w.family("advpnd_dataplane_packets_total", "counter", "overlay packets forwarded, by path")
        .sample(d.packets_to_peers, {{"path", "to-peer"}})
        .sample(d.packets_to_hub, {{"path", "to-hub"}})
        .sample(d.packets_from_nbma, {{"path", "from-nbma"}});
    write_multicast(w, d.multicast);
    write_drops(w, d.drops);
  }
  return w.take();
}

Result<std::unique_ptr<platform::HttpServer>, std::string> open_metrics(platform::EventLoop& loop,
                                                                        const ListenAddress& listen,
                                                                        std::function<std::string()> render) {
  return platform::HttpServer::open(
      loop, listen.address, listen.port, [render = std::move(render)](const std::string& path) {
        if (path != "/metrics") return platform::HttpResponse{404, "text/plain; charset=utf-8", "try /metrics\n"};
        return platform::HttpResponse{200, kContentType, render()};
      });
}

}  // namespace advpnd::app
