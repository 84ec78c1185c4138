// The spoke's TOML configuration (deploy/spoke.toml is the annotated
// example). Errors name the file, the line and the key; unknown keys are
// errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/spoke_agent.h"
#include "app/hub_config.h"
#include "app/routing_config.h"
#include "base/log.h"
#include "base/result.h"
#include "dataplane/multicast.h"
#include "vici/strongswan_provider.h"

namespace advpnd::app {

enum class ProviderKind : std::uint8_t { Strongswan, None };

struct SpokeDaemonConfig {
  agent::SpokeAgentConfig agent;  // NHRP client + shortcuts
  std::optional<std::uint32_t> gre_key;
  std::string tun_name = "advpnd0";
  std::uint8_t overlay_prefix_length = 24;  // the tunnel subnet, e.g. 10.0.0.0/24
  std::uint16_t tunnel_mtu = 1400;
  std::string control_socket = kDefaultSpokeSocket;
  log::Level log_level = log::Level::Info;
  RoutingConfig routing;                 // [routing]
  dataplane::MulticastConfig multicast;  // [multicast]
  ProviderKind provider = ProviderKind::Strongswan;
  vici::StrongswanConfig strongswan;
  // GRE is taken only from this interface (issue #12 part 2, IP_PKTINFO):
  // kernel-libipsec's TUN in tunnel mode; "" (transport mode, kernel XFRM,
  // or provider "none") takes it from any (platform/raw_gre_transport.h).
  std::string ipsec_interface;
  std::optional<ListenAddress> metrics_listen;  // the Prometheus endpoint; off when absent
  std::vector<ConfigError> warnings;            // logged at start, printed by `advpnd check`
  ConfigValues values;                          // every key as written: what SIGHUP compares
};

// SIGHUP: what the spoke applies without a restart; any other changed key
// is named in a warning (app/config_reload.h).
// ([[nhs]] sections: added ones are; a removed or changed one is named.)
inline constexpr std::string_view kSpokeReloadable[] = {"spoke.log_level", "shortcuts.", "authentication.", "nhs["};

[[nodiscard]] Result<SpokeDaemonConfig, ConfigErrors> load_spoke_config(const std::string& path);

// Which role a config file is for: it has a [hub] or a [spoke] section.
enum class ConfigRole : std::uint8_t { Hub, Spoke };
[[nodiscard]] Result<ConfigRole, ConfigErrors> config_role(const std::string& path);

}  // namespace advpnd::app
