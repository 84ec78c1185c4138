#include "app/spoke_config.h"

#include <fstream>
#include <sstream>

#include "app/routing_setup.h"
#include "app/toml_reader.h"
#include "nhrp/auth.h"

namespace advpnd::app {
namespace {

Result<toml::table, ConfigError> parse(const std::string& path) {
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    // toml++ reports syntax errors by exception; they stop here as values.
    return fail(ConfigError{path, e.source().begin.line, "", std::string(e.description())});
  }
}

std::optional<std::string> read_pem(TomlReader& in, std::string_view table, std::string_view key) {
  auto path = in.string(table, key);
  if (!path) return std::nullopt;
  std::ifstream file(*path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file || text.str().empty()) {
    in.fail_at(table, key, "cannot read \"" + *path + "\"");
    return std::nullopt;
  }
  return text.str();
}

log::Level parse_level(const std::string& text) {
  return text == "debug" ? log::Level::Debug
         : text == "warning" ? log::Level::Warning
         : text == "error" ? log::Level::Error
                           : log::Level::Info;
}

void read_servers(TomlReader& in, spoke::NhcConfig& nhc) {
  const std::size_t count = in.array_size("nhs");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string table = "nhs[" + std::to_string(i) + "]";
    spoke::NhsEntry entry;
    in.require(table, "nbma_address");
    if (auto v = in.address(table, "nbma_address")) entry.nbma = *v;
    if (auto v = in.address(table, "protocol_address")) entry.protocol = *v;
    if (auto v = in.integer(table, "priority", 0, 255)) entry.priority = static_cast<std::uint8_t>(*v);
    nhc.servers.push_back(entry);
  }
}

void read_ipsec(TomlReader& in, SpokeDaemonConfig& config) {
  if (auto v = in.choice("ipsec", "provider", {"strongswan", "none"})) {
    config.provider = *v == "none" ? ProviderKind::None : ProviderKind::Strongswan;
  }
  vici::StrongswanConfig& sw = config.strongswan;
  if (auto v = in.string("ipsec", "vici_socket")) sw.socket_path = *v;
  if (auto v = in.choice("ipsec", "mode", {"tunnel", "transport"})) {
    sw.policy.mode = *v == "transport" ? vici::IpsecMode::Transport : vici::IpsecMode::Tunnel;
  }
  if (auto v = in.strings("ipsec", "ike_proposals")) sw.policy.ike_proposals = *v;
  if (auto v = in.strings("ipsec", "esp_proposals")) sw.policy.esp_proposals = *v;
  if (auto v = in.integer("ipsec", "dpd_delay", 0, 3600)) sw.policy.dpd_delay = std::chrono::seconds(*v);
  vici::AuthConfig& auth = sw.policy.auth;
  if (auto v = in.string("ipsec", "psk")) auth.psk = *v;
  if (auto v = in.string("ipsec", "local_id")) auth.local_id = *v;
  if (auto v = in.string("ipsec", "remote_id")) auth.remote_id = *v;
  const auto cert = read_pem(in, "ipsec", "certificate");
  const auto key = read_pem(in, "ipsec", "private_key");
  const auto ca = read_pem(in, "ipsec", "ca_certificate");
  if (cert || key || ca) {
    if (!cert || !key || !ca) {
      in.fail_at("ipsec", "certificate", "certificate, private_key and ca_certificate go together");
    }
    auth.method = vici::AuthMethod::Certificate;
    auth.cert_pem = cert.value_or("");
    auth.key_pem = key.value_or("");
    auth.ca_pem = ca.value_or("");
  }
  if (config.provider == ProviderKind::Strongswan && auth.method == vici::AuthMethod::Psk && auth.psk.empty()) {
    in.fail_at("ipsec", "psk", "the strongswan provider needs psk, or certificate + private_key + ca_certificate");
  }
}

}  // namespace

Result<SpokeDaemonConfig, ConfigError> load_spoke_config(const std::string& path) {
  auto root = parse(path);
  if (!root) return fail(root.error());
  TomlReader in(path, *root);
  SpokeDaemonConfig config;
  spoke::NhcConfig& nhc = config.agent.nhc;

  if (auto v = in.address("spoke", "nbma_address")) nhc.nbma = *v;
  if (auto v = in.address("spoke", "protocol_address")) nhc.protocol = *v;
  in.require("spoke", "nbma_address");
  in.require("spoke", "protocol_address");
  if (nhc.nbma.family() == AddressFamily::Ipv6) in.fail_at("spoke", "nbma_address", "only IPv4 NBMA is supported yet");
  if (auto v = in.integer("spoke", "overlay_prefix_length", 1, 32)) {
    config.overlay_prefix_length = static_cast<std::uint8_t>(*v);
  }
  if (auto v = in.integer("spoke", "gre_key", 0, 0xFFFFFFFF)) config.gre_key = static_cast<std::uint32_t>(*v);
  if (auto v = in.string("spoke", "tun_name")) {
    if (v->empty() || v->size() > 15) in.fail_at("spoke", "tun_name", "must be 1..15 characters (IFNAMSIZ)");
    config.tun_name = *v;
  }
  if (auto v = in.integer("spoke", "mtu", 576, 9000)) {
    config.tunnel_mtu = static_cast<std::uint16_t>(*v);
    nhc.mtu = config.tunnel_mtu;
  }
  if (auto v = in.string("spoke", "control_socket")) config.control_socket = *v;
  if (auto v = in.choice("spoke", "log_level", {"debug", "info", "warning", "error"})) config.log_level = parse_level(*v);
  if (auto v = in.choice("spoke", "dialect", {"cisco", "frr"})) {
    nhc.dialect = *v == "frr" ? nhrp::Dialect::Frr : nhrp::Dialect::Cisco;
  }
  if (auto v = in.integer("spoke", "holding_time", 1, 65535)) nhc.holding_time = static_cast<std::uint16_t>(*v);
  if (auto v = in.integer("spoke", "registration_timeout", 1, 65535)) {
    nhc.registration_timeout = std::chrono::seconds(*v);
  }
  if (auto v = in.boolean("spoke", "unique")) nhc.unique = *v;
  if (auto list = in.strings("spoke", "local_prefixes")) {
    for (const std::string& text : *list) {
      const auto slash = text.find('/');
      const auto address = IpAddress::parse(text.substr(0, slash));
      const int length = slash == std::string::npos ? -1 : std::atoi(text.c_str() + slash + 1);
      if (!address || length < 0 || length > static_cast<int>(address->bit_width())) {
        in.fail_at("spoke", "local_prefixes", "\"" + text + "\" is not a prefix like 192.168.2.0/24");
        break;
      }
      nhc.local_prefixes.push_back({*address, static_cast<std::uint8_t>(length)});
    }
  }
  if (auto v = in.boolean("spoke", "register_local_prefixes")) nhc.register_local_prefixes = *v;

  read_servers(in, nhc);
  if (nhc.servers.empty() && !in.error()) in.fail_at("nhs", "nbma_address", "at least one [[nhs]] section is required");

  if (auto v = in.string("authentication", "password")) {
    if (v->empty() || v->size() > nhrp::kCiscoAuthMaxPassword) {
      in.fail_at("authentication", "password", "must be 1..8 characters (Cisco `ip nhrp authentication`)");
    } else {
      nhc.auth_password = *v;
    }
  }

  shortcut::ShortcutConfig& sc = config.agent.shortcuts;
  if (auto v = in.integer("shortcuts", "idle_timeout", 1, 86400)) sc.idle_timeout = std::chrono::seconds(*v);
  if (auto v = in.integer("shortcuts", "connect_timeout", 1, 3600)) sc.connect_timeout = std::chrono::seconds(*v);
  if (auto v = in.integer("shortcuts", "max_shortcuts", 1, 1'000'000)) sc.max_shortcuts = static_cast<std::size_t>(*v);

  read_ipsec(in, config);
  config.strongswan.local_nbma = nhc.nbma;

  read_routing(in, config.routing);

  in.finish({"spoke", "nhs", "authentication", "shortcuts", "ipsec", "routing"});
  if (in.error()) return fail(*in.error());
  return config;
}

Result<ConfigRole, ConfigError> config_role(const std::string& path) {
  auto root = parse(path);
  if (!root) return fail(root.error());
  const bool hub = root->contains("hub");
  const bool spoke = root->contains("spoke");
  if (hub == spoke) {
    return fail(ConfigError{path, 0, "", hub ? "has both [hub] and [spoke]: one role per file"
                                             : "has neither a [hub] nor a [spoke] section"});
  }
  return hub ? ConfigRole::Hub : ConfigRole::Spoke;
}

}  // namespace advpnd::app
