#include "app/spoke_config.h"

#include <fstream>
#include <sstream>

#include "app/multicast_config.h"
#include "app/secret_file.h"
#include "app/routing_setup.h"
#include "app/toml_reader.h"
#include "nhrp/auth.h"

namespace advpnd::app {
namespace {

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

// A secret (psk_file, private_key): the systemd credential named `credential`
// when there is one (app/secret_file.h), else the configured file, which
// must not be readable by group or others.
std::optional<std::string> read_secret(TomlReader& in, std::string_view table, std::string_view key,
                                       std::string_view credential) {
  auto configured = in.string(table, key);
  const auto from_systemd = credential_file(credential);
  if (!configured && !from_systemd) return std::nullopt;
  auto secret = read_secret_file(from_systemd ? *from_systemd : *configured);
  if (!secret) {
    in.fail_at(table, key, secret.error());
    return std::nullopt;
  }
  if (secret->empty()) {
    in.fail_at(table, key, "\"" + (from_systemd ? *from_systemd : *configured) + "\" is empty");
    return std::nullopt;
  }
  return std::move(secret).value();
}

// A PSK file holds the key on one line; the line end is not part of it.
std::string without_trailing_newlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

log::Level parse_level(const std::string& text) {
  return text == "debug" ? log::Level::Debug
         : text == "warning" ? log::Level::Warning
         : text == "error" ? log::Level::Error
                           : log::Level::Info;
}

// Each [[nhs]]: an IPv4 NBMA address (raw GRE), no server twice, and not
// this spoke itself (it would register with itself and never get an answer).
void check_server(TomlReader& in, const std::string& table, const spoke::NhcConfig& nhc, const spoke::NhsEntry& entry) {
  if (entry.nbma.family() == AddressFamily::Ipv6) in.fail_at(table, "nbma_address", kOnlyIpv4Nbma);
  if (entry.protocol.family() == AddressFamily::Ipv6) in.fail_at(table, "protocol_address", kOnlyIpv4Overlay);
  if (!entry.nbma.empty() && entry.nbma == nhc.nbma) {
    in.fail_at(table, "nbma_address", entry.nbma.to_string() + " is this spoke's own spoke.nbma_address");
  }
  if (!entry.protocol.empty() && entry.protocol == nhc.protocol) {
    in.fail_at(table, "protocol_address", entry.protocol.to_string() + " is this spoke's own spoke.protocol_address");
  }
  for (std::size_t i = 0; i < nhc.servers.size(); ++i) {
    const spoke::NhsEntry& earlier = nhc.servers[i];
    const std::string other = "nhs[" + std::to_string(i) + "]";
    if (!entry.nbma.empty() && entry.nbma == earlier.nbma) {
      in.fail_at(table, "nbma_address", entry.nbma.to_string() + " is already " + other);
    }
    if (!entry.protocol.empty() && entry.protocol == earlier.protocol) {
      in.fail_at(table, "protocol_address", entry.protocol.to_string() + " is already " + other);
    }
  }
}

void read_servers(TomlReader& in, spoke::NhcConfig& nhc) {
  const std::optional<std::size_t> count = in.array_size("nhs");
  if (count == std::size_t{0}) in.fail_at("nhs", "nbma_address", "at least one [[nhs]] section is required");
  for (std::size_t i = 0; i < count.value_or(0); ++i) {
    const std::string table = "nhs[" + std::to_string(i) + "]";
    spoke::NhsEntry entry;
    in.require(table, "nbma_address");
    if (auto v = in.address(table, "nbma_address")) entry.nbma = *v;
    if (auto v = in.address(table, "protocol_address")) entry.protocol = *v;
    if (auto v = in.integer(table, "priority", 0, 255)) entry.priority = static_cast<std::uint8_t>(*v);
    check_server(in, table, nhc, entry);
    nhc.servers.push_back(entry);
  }
}

void read_local_prefixes(TomlReader& in, spoke::NhcConfig& nhc) {
  // The overlay is IPv4 only (yet): the TUN device and the dataplane.
  for (const ConfigPrefix& prefix : in.prefixes("spoke", "local_prefixes", AddressFamily::Ipv4)) {
    nhc.local_prefixes.push_back({prefix.address, prefix.length});
  }
}

void read_ipsec(TomlReader& in, SpokeDaemonConfig& config) {
  if (auto v = in.choice("ipsec", "provider", {"strongswan", "none"})) {
    config.provider = *v == "none" ? ProviderKind::None : ProviderKind::Strongswan;
    if (config.provider == ProviderKind::None) {
      in.warn_at("ipsec", "provider", "\"none\" sends NHRP and overlay traffic in clear GRE: for labs only");
    }
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
  if (auto v = read_secret(in, "ipsec", "psk_file", "psk")) {
    if (!auth.psk.empty()) in.fail_at("ipsec", "psk_file", "psk and psk_file (or a psk credential) exclude each other");
    auth.psk = without_trailing_newlines(*v);
  }
  if (auto v = in.string("ipsec", "local_id")) auth.local_id = *v;
  if (auto v = in.string("ipsec", "remote_id")) auth.remote_id = *v;
  const auto cert = read_pem(in, "ipsec", "certificate");
  const auto key = read_secret(in, "ipsec", "private_key", "private_key");
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
  if (auto v = in.choice("ipsec", "auth", {"psk", "pubkey"})) {
    // Optional: says which one is meant, so that a missing certificate is an
    // error rather than a silent fall-back to the (weaker) group PSK.
    if (*v == "pubkey" && auth.method != vici::AuthMethod::Certificate) {
      in.fail_at("ipsec", "auth", "\"pubkey\" needs certificate, private_key and ca_certificate");
    }
    if (*v == "psk" && auth.method == vici::AuthMethod::Certificate) {
      in.fail_at("ipsec", "auth", "\"psk\" but certificate, private_key and ca_certificate are given");
    }
  }
  // The interface decrypted GRE comes from: ipsec0 with kernel-libipsec
  // (tunnel mode); transport mode (kernel ESP) keeps the WAN's, so no check.
  if (config.provider == ProviderKind::Strongswan && sw.policy.mode == vici::IpsecMode::Tunnel) {
    config.ipsec_interface = "ipsec0";
  }
  if (auto v = in.string("ipsec", "interface")) {
    if (v->size() > 15) in.fail_at("ipsec", "interface", "must be 0..15 characters (IFNAMSIZ); \"\" turns it off");
    if (config.provider == ProviderKind::None && !v->empty()) {
      in.fail_at("ipsec", "interface", "with provider \"none\" nothing comes through IPsec");
    }
    config.ipsec_interface = *v;
  }
  if (config.provider == ProviderKind::Strongswan && auth.method == vici::AuthMethod::Psk && auth.psk.empty()) {
    in.fail_at("ipsec", "psk", "the strongswan provider needs psk, or certificate + private_key + ca_certificate");
  }
}

}  // namespace

Result<SpokeDaemonConfig, ConfigErrors> load_spoke_config(const std::string& path) {
  auto root = parse_toml_file(path);
  if (!root) return fail(root.error());
  TomlReader in(path, *root);
  SpokeDaemonConfig config;
  spoke::NhcConfig& nhc = config.agent.nhc;

  if (auto v = in.address("spoke", "nbma_address")) nhc.nbma = *v;
  if (auto v = in.address("spoke", "protocol_address")) nhc.protocol = *v;
  in.require("spoke", "nbma_address");
  in.require("spoke", "protocol_address");
  // What the daemon can run (raw GRE over IPv4, an IPv4 TUN overlay) is
  // checked here, so that `advpnd check` refuses what start would.
  if (nhc.nbma.family() == AddressFamily::Ipv6) in.fail_at("spoke", "nbma_address", kOnlyIpv4Nbma);
  if (nhc.protocol.family() == AddressFamily::Ipv6) in.fail_at("spoke", "protocol_address", kOnlyIpv4Overlay);
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
  config.metrics_listen = in.listen_address("spoke", "metrics_listen");
  if (auto v = in.choice("spoke", "log_level", {"debug", "info", "warning", "error"})) config.log_level = parse_level(*v);
  if (auto v = in.choice("spoke", "dialect", {"cisco", "frr"})) {
    nhc.dialect = *v == "frr" ? nhrp::Dialect::Frr : nhrp::Dialect::Cisco;
  }
  if (auto v = in.integer("spoke", "holding_time", 1, 65535)) nhc.holding_time = static_cast<std::uint16_t>(*v);
  if (auto v = in.integer("spoke", "registration_timeout", 1, 65535)) {
    nhc.registration_timeout = std::chrono::seconds(*v);
  }
  if (auto v = in.boolean("spoke", "unique")) nhc.unique = *v;
  read_local_prefixes(in, nhc);
  if (auto v = in.boolean("spoke", "register_local_prefixes")) nhc.register_local_prefixes = *v;

  read_servers(in, nhc);

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
  read_multicast(in, MulticastRole::Spoke, config.multicast);

  in.finish({"spoke", "nhs", "authentication", "shortcuts", "ipsec", "routing", "multicast"});
  if (in.failed()) return fail(in.errors());
  config.warnings = in.warnings();
  config.values = in.values();
  return config;
}

Result<ConfigRole, ConfigErrors> config_role(const std::string& path) {
  auto root = parse_toml_file(path);
  if (!root) return fail(root.error());
  const bool hub = root->contains("hub");
  const bool spoke = root->contains("spoke");
  if (hub == spoke) {
    return fail(ConfigErrors{{ConfigError{
        path, 0, "",
        hub ? "has both [hub] and [spoke]: one role per file" : "has neither a [hub] nor a [spoke] section"}}});
  }
  return hub ? ConfigRole::Hub : ConfigRole::Spoke;
}

}  // namespace advpnd::app
