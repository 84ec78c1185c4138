#include "app/spoke_control.h"

#include <chrono>
#include <optional>
#include <sstream>
#include <vector>

#include "app/control_output.h"
#include "app/debug_control.h"
#include "app/json.h"
#include "app/text_table.h"

namespace advpnd::app {
namespace {


ControlReply show_nhs(const agent::SpokeAgent& agent, bool json) {
  const auto servers = agent.nhc().servers().status();
  if (json) {
    JsonWriter w;
    w.begin_object().key("nhs").begin_array();
    for (const spoke::NhsStatus& s : servers) {
      w.begin_object();
      write_registration_status(w, s);
      w.field("protocol_learned", s.protocol_learned)
          .field("priority", s.priority)
          .field("own_nat_address", s.own_nat_address.to_string())
          .field("tunnel_up", agent.tunnels().up(s.nhs_nbma))
          .field("tunnel_error", agent.tunnels().nhs_tunnel_error(s.nhs_nbma));
      w.end_object();
    }
    w.end_array()
        .field("up", agent.nhc().servers().up_count())
        .field("ipsec_provider", agent.tunnels().name())
        .end_object();
    return {true, w.take() + "\n"};
  }
  TextTable table(
      {"NHS NBMA", "PROTOCOL", "PRIO", "STATE", "TUNNEL", "LAST REPLY", "NEXT", "EXPIRES", "FAILURES", "NAT"});
  for (const spoke::NhsStatus& s : servers) {
    table.add_row({s.nhs_nbma.to_string(),
                   s.nhs_protocol.empty() ? "?" : s.nhs_protocol.to_string() + (s.protocol_learned ? " (learned)" : ""),
                   std::to_string(s.priority), std::string(spoke::to_string(s.state)),
                   agent.tunnels().up(s.nhs_nbma) ? "up" : "down",
                   s.last_reply_unix ? format_unix_time(*s.last_reply_unix) : "-", seconds_or_dash(s.next_event_in),
                   seconds_or_dash(s.expires_in), std::to_string(s.failures),
                   s.own_nat_address.empty() ? "-" : s.own_nat_address.to_string()});
  }
  std::string out = table.render();
  for (const spoke::NhsStatus& s : servers) {
    if (!s.last_error.empty()) out += s.nhs_nbma.to_string() + ": " + s.last_error + "\n";
    const std::string tunnel = agent.tunnels().nhs_tunnel_error(s.nhs_nbma);
    if (!tunnel.empty()) out += s.nhs_nbma.to_string() + ": tunnel " + tunnel + "\n";
  }
  out += "IPsec provider: " + std::string(agent.tunnels().name()) + "\n";
  return {true, out};
}

ControlReply show_shortcuts(const agent::SpokeAgent& agent, bool json) {
  const auto list = agent.shortcuts().list();
  if (json) {
    JsonWriter w;
    w.begin_object().key("shortcuts").begin_array();
    for (const shortcut::ShortcutInfo& s : list) {
      w.begin_object()
          .field("prefix", s.prefix.to_string())
          .field("state", shortcut::to_string(s.state))
          .field("peer_nbma", s.peer_nbma.to_string())
          .field("peer_protocol", s.peer_protocol.to_string())
          .field("age_s", whole_seconds(s.age))
          .field("idle_s", whole_seconds(s.idle))
          .field("holding_time", s.holding_time)
          .field("bytes_in", s.bytes_in)
          .field("bytes_out", s.bytes_out)
          .end_object();
    }
    w.end_array().field("count", list.size()).end_object();
    return {true, w.take() + "\n"};
  }
  TextTable table({"PREFIX", "STATE", "PEER NBMA", "PEER", "AGE", "IDLE", "BYTES IN", "BYTES OUT"});
  for (const shortcut::ShortcutInfo& s : list) {
    table.add_row({s.prefix.to_string(), std::string(shortcut::to_string(s.state)),
                   s.peer_nbma.empty() ? "-" : s.peer_nbma.to_string(),
                   s.peer_protocol.empty() ? "-" : s.peer_protocol.to_string(), seconds_or_dash(s.age), seconds_or_dash(s.idle),
                   std::to_string(s.bytes_in), std::to_string(s.bytes_out)});
  }
  return {true, table.render() + std::to_string(list.size()) + " shortcut(s)\n"};
}

// Every tunnel the spoke holds a lease on (shortcut/tunnel_pool.h), with
// who holds it, and the peers given up lately: responder-only tunnels and
// unreachable peers show here, not in show shortcuts.
ControlReply show_tunnels(const agent::SpokeAgent& agent, bool json) {
  const auto list = agent.tunnels().pool().status();
  const auto lease_count = [](const shortcut::TunnelStatus& s, shortcut::LeaseHolder holder) {
    return s.leases[static_cast<std::size_t>(holder)];
  };
  using shortcut::LeaseHolder;
  if (json) {
    JsonWriter w;
    w.begin_object().key("tunnels").begin_array();
    for (const shortcut::TunnelStatus& s : list) {
      w.begin_object()
          .field("peer_nbma", s.peer.to_string())
          .field("state", shortcut::to_string(s.state))
          .field("nhs_leases", lease_count(s, LeaseHolder::Nhs))
          .field("shortcut_leases", lease_count(s, LeaseHolder::Shortcut))
          .field("reply_leases", lease_count(s, LeaseHolder::Reply))
          .field("failed_attempts", s.failed_attempts)
          .field("last_error", s.last_error)
          .end_object();
    }
    const shortcut::TunnelPoolStats& st = agent.tunnels().pool().stats();
    w.end_array()
        .field("count", list.size())
        .field("given_up_reply", st.given_up[static_cast<std::size_t>(LeaseHolder::Reply)])
        .field("given_up_shortcut", st.given_up[static_cast<std::size_t>(LeaseHolder::Shortcut)])
        .field("replies_dropped", agent.tunnels().replies_dropped())
        .end_object();
    return {true, w.take() + "\n"};
  }
  TextTable table({"PEER NBMA", "STATE", "NHS", "SHORTCUTS", "REPLIES", "FAILED", "LAST ERROR"});
  for (const shortcut::TunnelStatus& s : list) {
    table.add_row({s.peer.to_string(), std::string(shortcut::to_string(s.state)),
                   std::to_string(lease_count(s, LeaseHolder::Nhs)),
                   std::to_string(lease_count(s, LeaseHolder::Shortcut)),
                   std::to_string(lease_count(s, LeaseHolder::Reply)), std::to_string(s.failed_attempts),
                   s.last_error.empty() ? "-" : s.last_error});
  }
  return {true, table.render() + std::to_string(list.size()) + " tunnel(s)\n"};
}

void write_dataplane_stats(JsonWriter& w, const dataplane::SpokeDataplaneStats& d) {
  w.key("dataplane")
      .begin_object()
      .field("to_peers", d.packets_to_peers)
      .field("to_hub", d.packets_to_hub)
      .field("from_nbma", d.packets_from_nbma)
      .field("fragmented", d.fragmented)
      .field("icmp_sent", d.icmp_sent)
      .field("icmp_rate_limited", d.icmp_rate_limited);
  write_multicast_stats(w, d.multicast);
  write_drop_counts(w, d.drops);
  w.end_object();
}

std::string dataplane_stats_line(const dataplane::SpokeDataplaneStats& d) {
  std::string out = "dataplane: " + std::to_string(d.packets_to_peers) + " to peers, " +
                    std::to_string(d.packets_to_hub) + " to the hub, " + std::to_string(d.packets_from_nbma) +
                    " from NBMA, " + std::to_string(d.drops.total()) + " dropped";
  std::string reasons;
  for (std::size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    const auto reason = static_cast<dataplane::DropReason>(i);
    if (d.drops[reason] != 0) {
      reasons += (reasons.empty() ? "" : ", ") + std::string(dataplane::to_string(reason)) + " " +
                 std::to_string(d.drops[reason]);
    }
  }
  return out + (reasons.empty() ? "" : " (" + reasons + ")") + "\n" + multicast_stats_line(d.multicast);
}

ControlReply show_stats(const SpokeParts& parts, bool json) {
  const spoke::NhcStats& s = parts.agent.nhc().stats();
  const shortcut::ShortcutStats& sc = parts.agent.shortcuts().stats();
  if (json) {
    JsonWriter w;
    w.begin_object();
    write_packet_counts(w, s.received, s.sent, s.errors);
    w.key("shortcuts")
        .begin_object()
        .field("indications", sc.indications)
        .field("indications_ignored", sc.indications_ignored)
        .field("established", sc.established)
        .field("failed", sc.failed)
        .field("closed_idle", sc.closed_idle)
        .field("refreshed", sc.refreshed)
        .end_object();
    if (parts.transport != nullptr) write_transport_stats(w, parts.transport->stats());
    if (parts.dataplane != nullptr) write_dataplane_stats(w, parts.dataplane->stats());
    w.end_object();
    return {true, w.take() + "\n"};
  }
  std::string out = packet_count_tables(s.received, s.sent, s.errors);
  out += "\nshortcuts: " + std::to_string(sc.established) + " established, " + std::to_string(sc.failed) + " failed, " +
         std::to_string(sc.closed_idle) + " closed idle, " + std::to_string(sc.refreshed) + " refreshed; indications " +
         std::to_string(sc.indications) + " (" + std::to_string(sc.indications_ignored) + " ignored)\n";
  if (parts.transport != nullptr) out += transport_stats_line(parts.transport->stats());
  if (parts.dataplane != nullptr) out += dataplane_stats_line(parts.dataplane->stats());
  return {true, out};
}

// Shortcuts that carry (or are about to carry) traffic: what `clear` closes.
bool closable(shortcut::ShortcutState state) {
  return state == shortcut::ShortcutState::Connecting || state == shortcut::ShortcutState::Active ||
         state == shortcut::ShortcutState::Refreshing;
}

// Every shortcut (close_all), or those to `peer` (the same path as a Purge
// Request naming it: on_purge). Either way the route goes back to the hub
// before the tunnel is terminated (shortcut_manager.h).
ControlReply clear_shortcuts(agent::SpokeAgent& agent, const std::optional<IpAddress>& peer) {
  std::size_t closing = 0;
  for (const shortcut::ShortcutInfo& s : agent.shortcuts().list()) {
    if (closable(s.state) && (!peer || s.prefix.contains(*peer) || s.peer_protocol == *peer)) ++closing;
  }
  if (peer) {
    agent.shortcuts().on_purge(*peer);
  } else {
    agent.shortcuts().close_all("cleared by advpnctl");
  }
  return {true, "closing " + std::to_string(closing) + " shortcut(s)" + (peer ? " to " + peer->to_string() : "") +
                    ": traffic back through the hub\n"};
}

}  // namespace

ControlReply spoke_control(const SpokeParts& parts, std::string_view command) {
  const ParsedCommand parsed = parse_command(command);
  const std::vector<std::string>& args = parsed.words;
  const bool json = parsed.json;
  agent::SpokeAgent& agent = parts.agent;
  if (!args.empty() && args[0] == "debug") return debug_control({args.begin() + 1, args.end()}, json);
  if (args.size() == 2 && args[0] == "show" && args[1] == "nhs") return show_nhs(agent, json);
  if (args.size() == 2 && args[0] == "show" && args[1] == "shortcuts") return show_shortcuts(agent, json);
  if (args.size() == 2 && args[0] == "show" && args[1] == "stats") return show_stats(parts, json);
  if (args.size() == 2 && args[0] == "show" && args[1] == "tunnels") return show_tunnels(agent, json);
  if ((args.size() == 2 || args.size() == 3) && args[0] == "clear" && args[1] == "shortcut") {
    if (args.size() == 2) return clear_shortcuts(agent, std::nullopt);
    const auto peer = IpAddress::parse(args[2]);
    if (!peer) return {false, "\"" + args[2] + "\" is not an IP address\n"};
    return clear_shortcuts(agent, peer);
  }
  return {false, "unknown command \"" + std::string(command) +
                     "\"; a spoke knows: show nhs, show shortcuts, show tunnels, show stats, clear shortcut [PEER], "
                     "debug [CATEGORY on|off]\n"};
}

}  // namespace advpnd::app
