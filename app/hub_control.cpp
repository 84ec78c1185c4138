#include "app/hub_control.h"

#include <cstdio>
#include <sstream>
#include <vector>

#include "app/control_output.h"
#include "app/json.h"
#include "app/text_table.h"

namespace advpnd::app {
namespace {

std::string nat_column(const db::Binding& b) {
  return b.post_nat_nbma.empty() || b.post_nat_nbma == b.key.nbma ? "-" : b.post_nat_nbma.to_string();
}

ControlReply show_registrations(const hub::NextHopServer& nhs, bool json) {
  if (json) {
    JsonWriter w;
    w.begin_object().key("registrations").begin_array();
    for (const auto& [key, b] : nhs.cache().all()) {
      w.begin_object()
          .field("protocol", key.protocol.to_string())
          .field("prefix_len", key.prefix_len)
          .field("nbma", key.nbma.to_string())
          .field("post_nat_nbma", b.post_nat_nbma.to_string())
          .field("holding_time", b.holding_time_s)
          .field("expires_at", b.expires_at)
          .field("registered_at", b.registered_at)
          .field("unique", b.unique)
          .field("mtu", b.mtu)
          .field("request_id", b.request_id)
          .end_object();
    }
    w.end_array().field("count", nhs.cache().size()).end_object();
    return {true, w.take() + "\n"};
  }
  TextTable table({"PROTOCOL", "NBMA", "POST-NAT NBMA", "HOLD", "EXPIRES", "UNIQUE", "MTU"});
  for (const auto& [key, b] : nhs.cache().all()) {
    table.add_row({key.protocol.to_string() + "/" + std::to_string(key.prefix_len), key.nbma.to_string(), nat_column(b),
                   std::to_string(b.holding_time_s) + "s", format_unix_time(b.expires_at), b.unique ? "yes" : "no",
                   std::to_string(b.mtu)});
  }
  return {true, table.render() + std::to_string(nhs.cache().size()) + " registrations\n"};
}

void write_dataplane_stats(JsonWriter& w, const dataplane::HubDataplaneStats& d) {
  w.key("dataplane")
      .begin_object()
      .field("hairpinned", d.hairpinned)
      .field("to_device", d.to_device)
      .field("from_device", d.from_device)
      .field("dropped", d.drops.total())
      .key("drops")
      .begin_object();
  for (std::size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    const auto reason = static_cast<dataplane::DropReason>(i);
    w.field(dataplane::to_string(reason), d.drops[reason]);
  }
  w.end_object().end_object();
}

ControlReply show_stats(hub::NextHopServer& nhs, bool json, const NbmaTransport* transport,
                        const dataplane::HubDataplane* dataplane) {
  const hub::HubStats& s = nhs.stats();
  const hub::RedirectStats& r = nhs.redirect().stats();
  if (json) {
    JsonWriter w;
    w.begin_object();
    write_packet_counts(w, s.received, s.sent, s.errors);
    w.field("registrations", nhs.cache().size())
        .field("commits", s.commits)
        .field("commit_failures", s.commit_failures)
        .field("sweeps", s.sweeps)
        .field("store_healthy", nhs.store_healthy())
        .field("refreshes_unchanged", s.refreshes_unchanged)
        .field("resolvers_untracked", s.resolvers_untracked)
        .key("refused")
        .begin_object()
        .field("oversize_requests", s.refused_oversize)
        .field("rate_limited", s.refused_rate)
        .field("spoke_limit", s.refused_spoke_limit)
        .field("policy", s.refused_policy)
        .end_object()
        .field("data_frames_ignored", s.data_frames_ignored)
        .key("redirect")
        .begin_object()
        .field("hairpins", r.hairpins)
        .field("indications_sent", r.indications_sent)
        .field("rate_limited", r.rate_limited)
        .field("unparseable", r.unparseable)
        .end_object();
    if (transport != nullptr) write_transport_stats(w, transport->stats());
    if (dataplane != nullptr) write_dataplane_stats(w, dataplane->stats());
    w.end_object();
    return {true, w.take() + "\n"};
  }
  std::string out = packet_count_tables(s.received, s.sent, s.errors);
  out += "\nregistrations " + std::to_string(nhs.cache().size()) + ", commits " + std::to_string(s.commits) + " (" +
         std::to_string(s.commit_failures) + " failed), store " + (nhs.store_healthy() ? "healthy" : "FAILING") + "\n";
  out += "refused: " + std::to_string(s.refused_oversize) + " oversize requests, " + std::to_string(s.refused_rate) +
         " CIEs rate-limited, " + std::to_string(s.refused_spoke_limit) + " past the per-spoke limit, " +
         std::to_string(s.refused_policy) + " by the address policy\n";
  out += "redirect: " + std::to_string(r.hairpins) + " hair-pins, " + std::to_string(r.indications_sent) +
         " indications sent, " + std::to_string(r.rate_limited) + " rate-limited\n";
  if (transport != nullptr) out += transport_stats_line(transport->stats());
  if (dataplane != nullptr) {
    const dataplane::HubDataplaneStats& d = dataplane->stats();
    out += "dataplane: " + std::to_string(d.hairpinned) + " hair-pinned, " + std::to_string(d.to_device) +
           " to the hub, " + std::to_string(d.from_device) + " from the hub, " + std::to_string(d.drops.total()) +
           " dropped\n";
  }
  return {true, out};
}

}  // namespace

ControlReply hub_control(hub::NextHopServer& nhs, std::string_view command, const NbmaTransport* transport,
                         const dataplane::HubDataplane* dataplane) {
  const ParsedCommand parsed = parse_command(command);
  const std::vector<std::string>& args = parsed.words;
  const bool json = parsed.json;
  if (args.size() == 2 && args[0] == "show" && args[1] == "registrations") return show_registrations(nhs, json);
  if (args.size() == 2 && args[0] == "show" && args[1] == "stats") return show_stats(nhs, json, transport, dataplane);
  if (args.size() == 3 && args[0] == "clear" && args[1] == "registration") {
    const auto address = IpAddress::parse(args[2]);
    if (!address) return {false, "\"" + args[2] + "\" is not an IP address\n"};
    auto cleared = nhs.clear_registration(*address);
    if (!cleared) return {false, "cannot clear " + args[2] + ": " + cleared.error() + "\n"};
    return {true, "cleared " + std::to_string(*cleared) + " registration(s) of " + args[2] + "\n"};
  }
  return {false, "unknown command \"" + std::string(command) +
                     "\"; a hub knows: show registrations, show stats, clear registration ADDR\n"};
}

}  // namespace advpnd::app
