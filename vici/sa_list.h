// The SA data charon reports (vici README: the "list-sa" event streamed by
// list-sas, and "ike-updown" / "child-updown", which carry the same IKE_SA
// section). Each event holds one section per IKE_SA, keyed by its
// connection name:
//
//   advpnd-192.0.2.2 { uniqueid=1 state=ESTABLISHED remote-host=192.0.2.2 ...
//     child-sas { gre-1 { name=gre state=INSTALLED bytes-in=0 use-in=3 ... } } }
//
// (5.9 keys child sections "<name>-<uniqueid>" and gives the config name in
// `name`; older releases keyed them by the name alone: both are read.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vici/message.h"

namespace advpnd::vici {

struct ChildSa {
  std::string name;  // CHILD_SA config name
  std::uint64_t unique_id = 0;
  std::string state;  // INSTALLED, REKEYING, REKEYED, DELETING, ...
  std::string mode;   // TUNNEL, TRANSPORT
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::optional<std::uint64_t> use_in;  // seconds since the last packet; absent if none yet
  std::optional<std::uint64_t> use_out;
  std::optional<std::uint64_t> install_time;  // seconds since it was installed
  std::vector<std::string> remote_ts;  // "198.51.100.3/32[gre]"

  [[nodiscard]] bool installed() const { return state == "INSTALLED"; }
  // The peer's side of the traffic selectors is exactly `address` (a /32
  // or /128), whatever the protocol: a NATted peer's own address, where its
  // IKE address is the NAT's.
  [[nodiscard]] bool remote_ts_is_host(std::string_view address) const;
  // The addresses of the remote selectors that are one host ("a/32[gre]").
  [[nodiscard]] std::vector<std::string> remote_ts_hosts() const;
};

struct IkeSa {
  std::string name;  // connection (IKE config) name
  std::uint64_t unique_id = 0;
  std::string state;  // CONNECTING, ESTABLISHED, DELETING, ...
  std::string local_host;
  std::string remote_host;
  std::uint16_t remote_port = 0;
  std::string remote_id;    // the peer's IKE identity (certificate-proved or PSK-claimed)
  bool nat_remote = false;  // "nat-remote = yes": a NAT in front of the peer
  bool initiator = false;  // "initiator = yes": this end initiated the IKE_SA
  std::vector<ChildSa> children;

  // True when a CHILD_SA of that config name is installed (traffic is protected).
  [[nodiscard]] bool has_installed_child(std::string_view child_name) const;
};

// Every IKE_SA section at the top level of `event`; other entries (the
// "up" key of the updown events) are skipped. Missing or non-numeric
// fields read as 0 / absent: charon omits what does not apply.
[[nodiscard]] std::vector<IkeSa> parse_ike_sas(const Message& event);

}  // namespace advpnd::vici
