#include "app/hub_control.h"

#include <cstdio>
#include <sstream>
#include <vector>

#include "app/json.h"
#include "app/text_table.h"

namespace advpnd::app {
namespace {

std::vector<std::string> words(std::string_view command) {
  std::vector<std::string> out;
  std::istringstream in{std::string(command)};
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

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
    table.add_row({key.protocol.to_string() + "/" + std::to_string(key.prefix_len), key.nbma.to_string(),
                   nat_column(b), std::to_string(b.holding_time_s) + "s", format_unix_time(b.expires_at),
                   b.unique ? "yes" : "no", std::to_string(b.mtu)});
  }
  return {true, table.render() + std::to_string(nhs.cache().size()) + " registrations\n"};
}

ControlReply show_stats(hub::NextHopServer& nhs, bool json, const NbmaTransport* transport) {
  const hub::HubStats& s = nhs.stats();
  const hub::RedirectStats& r = nhs.redirect().stats();
  if (json) {
    JsonWriter w;
    w.begin_object().key("packets").begin_array();
    for (std::uint8_t t = nhrp::kMinPacketType; t <= nhrp::kMaxPacketType; ++t) {
      w.begin_object()
          .field("type", nhrp::to_string(static_cast<nhrp::PacketType>(t)))
          .field("received", s.received[t])
          .field("sent", s.sent[t])
          .end_object();
    }
    w.end_array().key("errors").begin_object();
    for (const auto& [reason, count] : s.errors) w.field(reason, count);
    w.end_object()
        .field("registrations", nhs.cache().size())
        .field("commits", s.commits)
        .field("commit_failures", s.commit_failures)
        .field("store_healthy", nhs.store_healthy())
        .field("data_frames_ignored", s.data_frames_ignored)
        .key("redirect")
        .begin_object()
        .field("hairpins", r.hairpins)
        .field("indications_sent", r.indications_sent)
        .field("rate_limited", r.rate_limited)
        .field("unparseable", r.unparseable)
        .end_object();
    if (transport != nullptr) {
      const TransportStats t = transport->stats();
      w.key("transport")
          .begin_object()
          .field("frames_received", t.frames_received)
          .field("frames_sent", t.frames_sent)
          .field("send_errors", t.send_errors)
          .field("dropped_wrong_key", t.dropped_wrong_key)
          .field("dropped_malformed", t.dropped_malformed)
          .end_object();
    }
    w.end_object();
    return {true, w.take() + "\n"};
  }
  TextTable packets({"PACKET TYPE", "RECEIVED", "SENT"});
  for (std::uint8_t t = nhrp::kMinPacketType; t <= nhrp::kMaxPacketType; ++t) {
    packets.add_row({std::string(nhrp::to_string(static_cast<nhrp::PacketType>(t))), std::to_string(s.received[t]),
                     std::to_string(s.sent[t])});
  }
  std::string out = packets.render() + "\n";
  TextTable errors({"ERROR", "COUNT"});
  for (const auto& [reason, count] : s.errors) errors.add_row({reason, std::to_string(count)});
  out += s.errors.empty() ? "no errors\n" : errors.render();
  out += "\nregistrations " + std::to_string(nhs.cache().size()) + ", commits " + std::to_string(s.commits) +
         " (" + std::to_string(s.commit_failures) + " failed), store " +
         (nhs.store_healthy() ? "healthy" : "FAILING") + "\n";
  out += "redirect: " + std::to_string(r.hairpins) + " hair-pins, " + std::to_string(r.indications_sent) +
         " indications sent, " + std::to_string(r.rate_limited) + " rate-limited\n";
  if (transport != nullptr) {
    const TransportStats t = transport->stats();
    out += "transport: " + std::to_string(t.frames_received) + " frames received, " + std::to_string(t.frames_sent) +
           " sent (" + std::to_string(t.send_errors) + " failed), dropped: " + std::to_string(t.dropped_malformed) +
           " malformed GRE, " + std::to_string(t.dropped_wrong_key) + " wrong GRE key\n";
  }
  return {true, out};
}

}  // namespace

ControlReply hub_control(hub::NextHopServer& nhs, std::string_view command, const NbmaTransport* transport) {
  std::vector<std::string> args = words(command);
  bool json = false;
  std::erase_if(args, [&](const std::string& a) { return a == "--json" ? (json = true) : false; });
  if (args.size() == 2 && args[0] == "show" && args[1] == "registrations") return show_registrations(nhs, json);
  if (args.size() == 2 && args[0] == "show" && args[1] == "stats") return show_stats(nhs, json, transport);
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
