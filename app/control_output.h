// Pieces every daemon's advpnctl answers share: parsing a command line, and
// NHRP packet counters and errors-by-reason as JSON or as tables.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/json.h"
#include "base/nbma_transport.h"
#include "dataplane/dataplane_stats.h"
#include "dataplane/multicast.h"
#include "nhrp/types.h"
#include "spoke/nhs_registration.h"

namespace advpnd::app {

using PacketCounts = std::array<std::uint64_t, nhrp::kMaxPacketType + 1>;

struct ParsedCommand {
  std::vector<std::string> words;  // "show", "stats"
  bool json = false;               // --json was among them
};
[[nodiscard]] ParsedCommand parse_command(std::string_view command);

// "packets": [{type, received, sent}...], "errors": {reason: count}
void write_packet_counts(JsonWriter& w, const PacketCounts& received, const PacketCounts& sent,
                         const std::map<std::string, std::uint64_t>& errors);
// The same as two tables ("no errors" when there are none).
[[nodiscard]] std::string packet_count_tables(const PacketCounts& received, const PacketCounts& sent,
                                              const std::map<std::string, std::uint64_t>& errors);

void write_transport_stats(JsonWriter& w, const TransportStats& t);
// "drops": {reason: count} for every reason, and "dropped": the total.
void write_drop_counts(JsonWriter& w, const dataplane::DropCounters& drops);
// Whole seconds of a duration; "12s", or "-" when there is none (tables).
[[nodiscard]] std::int64_t whole_seconds(Duration d);
[[nodiscard]] std::string seconds_or_dash(std::optional<Duration> d);
// The fields of one registration at an NHS (a spoke's `show nhs`, a
// regional hub's `show upstream`): nbma, protocol, state, request_id,
// attempts, failures, holding_time, last_error, last_reply_unix,
// next_event_s, expires_s. The caller opens and closes the object.
void write_registration_status(JsonWriter& w, const spoke::NhsStatus& s);
// "multicast": {frames_in, copies_out, ...} (dataplane/multicast.h).
void write_multicast_stats(JsonWriter& w, const dataplane::MulticastStats& m);
// "multicast: 3 in, 6 copies out, ..." with a newline.
[[nodiscard]] std::string multicast_stats_line(const dataplane::MulticastStats& m);
[[nodiscard]] std::string transport_stats_line(const TransportStats& t);

}  // namespace advpnd::app
