// The hub's TOML configuration (deploy/hub.toml is the annotated example).
// Every error names the file, the line and the key (issue: "bad config names
// the file, line and key"); unknown keys are errors, so a typo never turns
// into a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config_reload.h"
#include "app/listen_address.h"
#include "app/routing_config.h"
#include "base/log.h"
#include "base/result.h"
#include "dataplane/multicast.h"
#include "db/sqlite_registration_store.h"
#include "hub/nhs_config.h"

namespace advpnd::app {

// Where the daemons listen for advpnctl unless `control_socket` says
// otherwise (advpnctl looks here when it is not told).
inline constexpr const char* kDefaultHubSocket = "/run/advpnd/hub.sock";
inline constexpr const char* kDefaultSpokeSocket = "/run/advpnd/spoke.sock";

struct ConfigError {
  std::string file;
  std::size_t line = 0;  // 0 when the error is about the file as a whole
  std::string key;       // dotted, e.g. "registration.max_holding_time"
  std::string message;
  bool warning = false;  // the file runs, but probably not as meant
  // "hub.toml:12: registration.max_holding_time: must be 1..65535, got 0"
  // (a warning: "hub.toml:12: KEY: warning: ...")
  [[nodiscard]] std::string to_string() const;
};

// Every error of a file, in the order of the file (what is absent from it
// last): `advpnd check` and the daemons report them all at once.
struct ConfigErrors {
  std::vector<ConfigError> errors;  // never empty
  [[nodiscard]] const ConfigError& first() const { return errors.front(); }
  // One to_string() line per error, each ending in '\n'.
  [[nodiscard]] std::string to_string() const;
};

struct HubDaemonConfig {
  hub::NhsConfig nhs;
  std::optional<std::uint32_t> gre_key;
  std::string tun_name = "advpnd0";  // the hub's overlay device
  std::uint16_t tunnel_mtu = 1400;
  std::string database = "/var/lib/advpnd/hub.db";
  std::string control_socket = kDefaultHubSocket;
  log::Level log_level = log::Level::Info;
  RoutingConfig routing;                 // [routing]
  dataplane::MulticastConfig multicast;  // [multicast]
  db::SqliteStoreOptions store;
  std::optional<ListenAddress> metrics_listen;  // the Prometheus endpoint; off when absent
  // [ipsec] (issue #12 part 2): the hub follows its own charon over VICI and
  // takes NHRP only through an established IKE_SA, bound to its identity.
  // "none": clear GRE accepted from anyone (labs only; a loud warning).
  enum class Provider : std::uint8_t { Strongswan, None };
  Provider provider = Provider::Strongswan;
  std::string vici_socket = "/var/run/charon.vici";
  // GRE is taken only from this interface (IP_PKTINFO): kernel-libipsec's
  // TUN, where decrypted GRE comes from. "" turns the check off (kernel
  // XFRM, where decrypted packets keep the WAN interface).
  std::string ipsec_interface = "ipsec0";
  std::vector<ConfigError> warnings;            // logged at start, printed by `advpnd check`
  ConfigValues values;                          // every key as written: what SIGHUP compares
};

[[nodiscard]] Result<HubDaemonConfig, ConfigErrors> load_hub_config(const std::string& path);

// SIGHUP: what the hub applies without a restart (NextHopServer::reconfigure
// and the log level); any other changed key is named in a warning
// (app/config_reload.h).
inline constexpr std::string_view kHubReloadable[] = {"hub.log_level",
                                                      "hub.mtu",
                                                      "hub.dialect",
                                                      "registration.",
                                                      "authentication.",
                                                      "redirect.",
                                                      "store.audit_retention_days",
                                                      "policy["};

}  // namespace advpnd::app
