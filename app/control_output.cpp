#include "app/control_output.h"

#include <chrono>

#include <sstream>

#include "app/text_table.h"

namespace advpnd::app {

ParsedCommand parse_command(std::string_view command) {
  ParsedCommand parsed;
  std::istringstream in{std::string(command)};
  for (std::string word; in >> word;) {
    if (word == "--json") {
      parsed.json = true;
    } else {
      parsed.words.push_back(word);
    }
  }
  return parsed;
}

void write_packet_counts(JsonWriter& w, const PacketCounts& received, const PacketCounts& sent,
                         const std::map<std::string, std::uint64_t>& errors) {
  w.key("packets").begin_array();
  for (std::uint8_t t = nhrp::kMinPacketType; t <= nhrp::kMaxPacketType; ++t) {
    w.begin_object()
        .field("type", nhrp::to_string(static_cast<nhrp::PacketType>(t)))
        .field("received", received[t])
        .field("sent", sent[t])
        .end_object();
  }
  w.end_array().key("errors").begin_object();
  for (const auto& [reason, count] : errors) w.field(reason, count);
  w.end_object();
}

std::string packet_count_tables(const PacketCounts& received, const PacketCounts& sent,
                                const std::map<std::string, std::uint64_t>& errors) {
  TextTable packets({"PACKET TYPE", "RECEIVED", "SENT"});
  for (std::uint8_t t = nhrp::kMinPacketType; t <= nhrp::kMaxPacketType; ++t) {
    packets.add_row({std::string(nhrp::to_string(static_cast<nhrp::PacketType>(t))), std::to_string(received[t]),
                     std::to_string(sent[t])});
  }
  std::string out = packets.render() + "\n";
  TextTable table({"ERROR", "COUNT"});
  for (const auto& [reason, count] : errors) table.add_row({reason, std::to_string(count)});
  return out + (errors.empty() ? "no errors\n" : table.render());
}

void write_transport_stats(JsonWriter& w, const TransportStats& t) {
  w.key("transport")
      .begin_object()
      .field("frames_received", t.frames_received)
      .field("frames_sent", t.frames_sent)
      .field("send_errors", t.send_errors)
      .field("dropped_wrong_key", t.dropped_wrong_key)
      .field("dropped_malformed", t.dropped_malformed)
      .field("dropped_not_ipsec", t.dropped_not_ipsec)
      .end_object();
}

void write_drop_counts(JsonWriter& w, const dataplane::DropCounters& drops) {
  w.field("dropped", drops.total()).key("drops").begin_object();
  for (std::size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    const auto reason = static_cast<dataplane::DropReason>(i);
    w.field(dataplane::to_string(reason), drops[reason]);
  }
  w.end_object();
}

std::int64_t whole_seconds(Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

std::string seconds_or_dash(std::optional<Duration> d) { return d ? std::to_string(whole_seconds(*d)) + "s" : "-"; }

void write_registration_status(JsonWriter& w, const spoke::NhsStatus& s) {
  w.field("nbma", s.nhs_nbma.to_string())
      .field("protocol", s.nhs_protocol.to_string())
      .field("state", spoke::to_string(s.state))
      .field("request_id", s.request_id)
      .field("attempts", s.attempts)
      .field("failures", s.failures)
      .field("holding_time", s.granted_holding_time)
      .field("last_error", s.last_error);
  w.key("last_reply_unix");
  s.last_reply_unix ? w.value(*s.last_reply_unix) : w.null();
  w.key("next_event_s");
  s.next_event_in ? w.value(whole_seconds(*s.next_event_in)) : w.null();
  w.key("expires_s");
  s.expires_in ? w.value(whole_seconds(*s.expires_in)) : w.null();
}

void write_multicast_stats(JsonWriter& w, const dataplane::MulticastStats& m) {
  w.key("multicast")
      .begin_object()
      .field("frames_in", m.frames_in)
      .field("copies_out", m.copies_out)
      .field("to_device", m.to_device)
      .field("rate_limited_source", m.rate_limited_source)
      .field("rate_limited_total", m.rate_limited_total)
      .field("not_link_local", m.not_link_local)
      .field("disabled", m.disabled)
      .field("no_receiver", m.no_receiver)
      .field("not_registered", m.not_registered)
      .end_object();
}

std::string multicast_stats_line(const dataplane::MulticastStats& m) {
  return "multicast: " + std::to_string(m.frames_in) + " link-local frames in, " + std::to_string(m.copies_out) +
         " copies out, " + std::to_string(m.to_device) +
         " to the device; dropped: " + std::to_string(m.rate_limited_source + m.rate_limited_total) +
         " rate-limited (" + std::to_string(m.rate_limited_source) + " per source, " +
         std::to_string(m.rate_limited_total) + " total), " + std::to_string(m.not_link_local) + " not link-local, " +
         std::to_string(m.disabled) + " disabled, " + std::to_string(m.not_registered) + " from unregistered sources\n";
}

std::string transport_stats_line(const TransportStats& t) {
  return "transport: " + std::to_string(t.frames_received) + " frames received, " + std::to_string(t.frames_sent) +
         " sent (" + std::to_string(t.send_errors) + " failed), dropped: " + std::to_string(t.dropped_malformed) +
         " malformed GRE, " + std::to_string(t.dropped_wrong_key) + " wrong GRE key, " +
         std::to_string(t.dropped_not_ipsec) + " not through IPsec\n";
}

}  // namespace advpnd::app
