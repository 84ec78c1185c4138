#include "app/hub_control.h"

#include <cstdio>
#include <optional>
#include <sstream>
#include <vector>

#include "app/control_output.h"
#include "app/debug_control.h"
#include "app/json.h"
#include "app/text_table.h"

namespace advpnd::app {
namespace {

std::string nat_column(const db::Binding& b) {
  return b.post_nat_nbma.empty() || b.post_nat_nbma == b.key.nbma ? "-" : b.post_nat_nbma.to_string();
}

// All registrations, or those of one protocol address (`only`).
ControlReply show_registrations(const hub::NextHopServer& nhs, bool json, const std::optional<IpAddress>& only) {
  std::vector<std::pair<db::BindingKey, db::Binding>> shown;
  for (const auto& [key, b] : nhs.cache().all()) {
    if (!only || key.protocol == *only) shown.emplace_back(key, b);
  }
  if (json) {
    JsonWriter w;
    w.begin_object().key("registrations").begin_array();
    for (const auto& [key, b] : shown) {
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
          .field("identity", b.identity)
          .end_object();
    }
    w.end_array().field("count", shown.size()).end_object();
    return {true, w.take() + "\n"};
  }
  TextTable table({"PROTOCOL", "NBMA", "POST-NAT NBMA", "HOLD", "EXPIRES", "UNIQUE", "MTU", "IDENTITY"});
  for (const auto& [key, b] : shown) {
    table.add_row({key.protocol.to_string() + "/" + std::to_string(key.prefix_len), key.nbma.to_string(), nat_column(b),
                   std::to_string(b.holding_time_s) + "s", format_unix_time(b.expires_at), b.unique ? "yes" : "no",
                   std::to_string(b.mtu), b.identity.empty() ? "-" : b.identity});
  }
  return {true, table.render() + std::to_string(shown.size()) + " registrations\n"};
}

std::string or_dash(const IpAddress& address) { return address.empty() ? "-" : address.to_string(); }

// The audit trail, newest first; with `only`, the events naming that
// protocol, NBMA or post-NAT NBMA address.
ControlReply show_audit(db::RegistrationStore& store, bool json, const std::optional<IpAddress>& only) {
  db::AuditQuery query;
  query.newest_first = true;
  query.limit = only ? kAuditSearched : kAuditShown;
  auto events = store.audit_events(query);
  if (!events) return {false, "cannot read the audit table: " + events.error().to_string() + "\n"};
  std::vector<db::AuditEvent> shown;
  for (const db::AuditEvent& e : *events) {
    if (shown.size() == kAuditShown) break;
    if (!only || e.protocol == *only || e.nbma == *only || e.post_nat_nbma == *only) shown.push_back(e);
  }
  if (json) {
    JsonWriter w;
    w.begin_object().key("audit").begin_array();
    for (const db::AuditEvent& e : shown) {
      w.begin_object()
          .field("at", e.at)
          .field("kind", db::to_string(e.kind))
          .field("protocol", e.protocol.to_string())
          .field("prefix_len", e.prefix_len)
          .field("nbma", e.nbma.to_string())
          .field("post_nat_nbma", e.post_nat_nbma.to_string())
          .field("reason", e.reason)
          .end_object();
    }
    w.end_array().field("count", shown.size()).end_object();
    return {true, w.take() + "\n"};
  }
  TextTable table({"TIME", "EVENT", "PROTOCOL", "NBMA", "POST-NAT NBMA", "REASON"});
  for (const db::AuditEvent& e : shown) {
    const std::string protocol = e.protocol.empty() ? "-" : e.protocol.to_string() + "/" + std::to_string(e.prefix_len);
    table.add_row({format_unix_time(e.at), std::string(db::to_string(e.kind)), protocol, or_dash(e.nbma),
                   or_dash(e.post_nat_nbma), e.reason.empty() ? "-" : e.reason});
  }
  return {true, table.render() + std::to_string(shown.size()) + " event(s), newest first\n"};
}

void write_dataplane_stats(JsonWriter& w, const dataplane::HubDataplaneStats& d) {
  w.key("dataplane")
      .begin_object()
      .field("hairpinned", d.hairpinned)
      .field("to_device", d.to_device)
      .field("from_device", d.from_device)
      .field("by_kernel_route", d.by_kernel_route);
  write_multicast_stats(w, d.multicast);
  write_drop_counts(w, d.drops);
  w.end_object();
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
        .field("no_sa", s.refused_no_sa)
        .field("identity", s.refused_identity)
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
         std::to_string(s.refused_policy) + " by the address policy, " + std::to_string(s.refused_identity) +
         " by the identity policy, " + std::to_string(s.refused_no_sa) + " NHRP packets without an IKE_SA\n";
  out += "redirect: " + std::to_string(r.hairpins) + " hair-pins, " + std::to_string(r.indications_sent) +
         " indications sent, " + std::to_string(r.rate_limited) + " rate-limited\n";
  if (transport != nullptr) out += transport_stats_line(transport->stats());
  if (dataplane != nullptr) {
    const dataplane::HubDataplaneStats& d = dataplane->stats();
    out += "dataplane: " + std::to_string(d.hairpinned) + " hair-pinned, " + std::to_string(d.to_device) +
           " to the hub, " + std::to_string(d.from_device) + " from the hub (" + std::to_string(d.by_kernel_route) +
           " of these by kernel routes), " + std::to_string(d.drops.total()) + " dropped\n";
    out += multicast_stats_line(d.multicast);
  }
  return {true, out};
}

ControlReply show_upstream(const spoke::NhsSet* upstream, bool json) {
  const std::vector<spoke::NhsStatus> servers = upstream ? upstream->status() : std::vector<spoke::NhsStatus>{};
  if (json) {
    JsonWriter w;
    w.begin_object().key("upstream").begin_array();
    for (const spoke::NhsStatus& s : servers) {
      w.begin_object();
      write_registration_status(w, s);
      w.end_object();
    }
    w.end_array().field("up", upstream ? upstream->up_count() : 0).end_object();
    return {true, w.take() + "\n"};
  }
  if (!upstream) return {true, "no [[upstream]] NHS: this hub is at the top of its hierarchy\n"};
  TextTable table({"UPSTREAM NBMA", "PROTOCOL", "STATE", "LAST REPLY", "NEXT", "EXPIRES", "FAILURES"});
  for (const spoke::NhsStatus& s : servers) {
    table.add_row({s.nhs_nbma.to_string(), s.nhs_protocol.to_string(), std::string(spoke::to_string(s.state)),
                   s.last_reply_unix ? format_unix_time(*s.last_reply_unix) : "-", seconds_or_dash(s.next_event_in),
                   seconds_or_dash(s.expires_in), std::to_string(s.failures)});
  }
  std::string out = table.render();
  for (const spoke::NhsStatus& s : servers) {
    if (!s.last_error.empty()) out += s.nhs_nbma.to_string() + ": " + s.last_error + "\n";
  }
  return {true, out};
}

}  // namespace

ControlReply hub_control(const HubParts& parts, std::string_view command) {
  const ParsedCommand parsed = parse_command(command);
  const std::vector<std::string>& args = parsed.words;
  const bool json = parsed.json;
  if (!args.empty() && args[0] == "debug") return debug_control({args.begin() + 1, args.end()}, json);
  const bool show = args.size() >= 2 && args.size() <= 3 && args[0] == "show";
  const bool with_address = (show && (args[1] == "registrations" || args[1] == "audit")) ||
                            (args.size() == 3 && args[0] == "clear" && args[1] == "registration");
  // The address of "show registrations ADDR", "show audit ADDR", "clear registration ADDR".
  std::optional<IpAddress> address;
  if (with_address && args.size() == 3) {
    address = IpAddress::parse(args[2]);
    if (!address) return {false, "\"" + args[2] + "\" is not an IP address\n"};
  }
  if (show && args[1] == "registrations") return show_registrations(parts.nhs, json, address);
  if (show && args[1] == "audit") return show_audit(parts.store, json, address);
  if (args.size() == 2 && args[0] == "show" && args[1] == "stats") {
    return show_stats(parts.nhs, json, parts.transport, parts.dataplane);
  }
  if (args.size() == 2 && args[0] == "show" && args[1] == "upstream") return show_upstream(parts.upstream, json);
  if (with_address && args[0] == "clear") {
    auto cleared = parts.nhs.clear_registration(*address);
    if (!cleared) return {false, "cannot clear " + args[2] + ": " + cleared.error() + "\n"};
    return {true, "cleared " + std::to_string(*cleared) + " registration(s) of " + args[2] + "\n"};
  }
  return {false, "unknown command \"" + std::string(command) +
                     "\"; a hub knows: show registrations [ADDR], show audit [ADDR], show stats, show upstream, "
                     "clear registration ADDR, debug [CATEGORY on|off]\n"};
}

}  // namespace advpnd::app
