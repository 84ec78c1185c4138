// The hub's TOML configuration (deploy/hub.toml is the annotated example).
// Every error names the file, the line and the key (issue: "bad config names
// the file, line and key"); unknown keys are errors, so a typo never turns
// into a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/log.h"
#include "base/result.h"
#include "db/sqlite_registration_store.h"
#include "hub/nhs_config.h"

namespace advpnd::app {

struct ConfigError {
  std::string file;
  std::size_t line = 0;  // 0 when the error is about the file as a whole
  std::string key;       // dotted, e.g. "registration.max_holding_time"
  std::string message;
  // "hub.toml:12: registration.max_holding_time: must be 1..65535, got 0"
  [[nodiscard]] std::string to_string() const;
};

struct HubDaemonConfig {
  hub::NhsConfig nhs;
  std::optional<std::uint32_t> gre_key;
  std::string tun_name = "advpnd0";  // the hub's overlay device
  std::uint16_t tunnel_mtu = 1400;
  std::string database = "/var/lib/advpnd/hub.db";
  std::string control_socket = "/run/advpnd/hub.sock";
  log::Level log_level = log::Level::Info;
  db::SqliteStoreOptions store;
};

[[nodiscard]] Result<HubDaemonConfig, ConfigError> load_hub_config(const std::string& path);

}  // namespace advpnd::app
