#include "app/hub_config.h"

#include "app/multicast_config.h"
#include "app/routing_setup.h"
#include "app/toml_reader.h"
#include "nhrp/auth.h"

namespace advpnd::app {
namespace {

// Each [[upstream]]: an NHS of the tier above (issue #11 hierarchy). Both
// addresses are required: the NBMA to register at, the overlay address
// that routes name as their next hop. Not this hub, not twice.
void read_upstream(TomlReader& in, hub::NhsConfig& nhs) {
  for (std::size_t i = 0; i < in.array_size("upstream").value_or(0); ++i) {
    const std::string table = "upstream[" + std::to_string(i) + "]";
    in.require(table, "nbma_address");
    in.require(table, "protocol_address");
    hub::UpstreamNhs entry;
    if (auto v = in.address(table, "nbma_address")) entry.nbma = *v;
    if (auto v = in.address(table, "protocol_address")) entry.protocol = *v;
    if (entry.nbma.family() == AddressFamily::Ipv6) in.fail_at(table, "nbma_address", kOnlyIpv4Nbma);
    if (entry.protocol.family() == AddressFamily::Ipv6) in.fail_at(table, "protocol_address", kOnlyIpv4Overlay);
    if (!entry.nbma.empty() && entry.nbma == nhs.nbma) {
      in.fail_at(table, "nbma_address", entry.nbma.to_string() + " is this hub's own hub.nbma_address");
    }
    if (!entry.protocol.empty() && entry.protocol == nhs.protocol) {
      in.fail_at(table, "protocol_address", entry.protocol.to_string() + " is this hub's own hub.protocol_address");
    }
    for (std::size_t k = 0; k < nhs.upstream.size(); ++k) {
      const std::string other = "upstream[" + std::to_string(k) + "]";
      if (!entry.nbma.empty() && entry.nbma == nhs.upstream[k].nbma) {
        in.fail_at(table, "nbma_address", entry.nbma.to_string() + " is already " + other);
      }
      if (!entry.protocol.empty() && entry.protocol == nhs.upstream[k].protocol) {
        in.fail_at(table, "protocol_address", entry.protocol.to_string() + " is already " + other);
      }
    }
    nhs.upstream.push_back(entry);
  }
}

void read_ipsec(TomlReader& in, HubDaemonConfig& config) {
  if (auto v = in.choice("ipsec", "provider", {"strongswan", "none"})) {
    config.provider = *v == "none" ? HubDaemonConfig::Provider::None : HubDaemonConfig::Provider::Strongswan;
    if (config.provider == HubDaemonConfig::Provider::None) {
      in.warn_at("ipsec", "provider",
                 "\"none\": NHRP is accepted in clear GRE from anyone, with no identity: for labs only");
    }
  }
  if (auto v = in.string("ipsec", "vici_socket")) {
    if (v->empty() || v->front() != '/') in.fail_at("ipsec", "vici_socket", "must be an absolute path");
    config.vici_socket = *v;
  }
  if (auto v = in.string("ipsec", "interface")) {
    if (v->size() > 15) in.fail_at("ipsec", "interface", "must be 0..15 characters (IFNAMSIZ); \"\" turns it off");
    config.ipsec_interface = *v;
  }
}

// [[policy]] identity = "...", addresses = [...], prefixes = [...], max_bindings = N
void read_policies(TomlReader& in, hub::NhsConfig& nhs) {
  const std::size_t count = in.array_size("policy").value_or(0);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string table = "policy[" + std::to_string(i) + "]";
    hub::IdentityPolicy policy;
    in.require(table, "identity");
    if (auto v = in.string(table, "identity")) {
      if (v->empty()) in.fail_at(table, "identity", "must not be empty");
      for (const auto& earlier : nhs.identity_policies) {
        if (earlier.identity == *v) in.fail_at(table, "identity", "\"" + *v + "\" has a [[policy]] already");
      }
      policy.identity = *v;
    }
    if (auto list = in.strings(table, "addresses")) {
      for (const auto& text : *list) {
        auto address = IpAddress::parse(text);
        if (!address || address->family() != nhs.protocol.family()) {
          in.fail_at(table, "addresses", "\"" + text + "\" is not an overlay address of the hub's family");
        } else if (!address->shares_prefix(nhs.protocol, nhs.overlay_prefix_length)) {
          in.fail_at(table, "addresses", text + " is outside the overlay subnet");
        } else {
          policy.addresses.push_back(*address);
        }
      }
    }
    for (const ConfigPrefix& prefix : in.prefixes(table, "prefixes", nhs.protocol.family())) {
      policy.prefixes.push_back({prefix.address, prefix.length});
    }
    if (auto v = in.integer(table, "max_bindings", 1, 1'000'000)) policy.max_bindings = static_cast<std::size_t>(*v);
    nhs.identity_policies.push_back(std::move(policy));
  }
}

}  // namespace

Result<HubDaemonConfig, ConfigErrors> load_hub_config(const std::string& path) {
  auto root = parse_toml_file(path);
  if (!root) return fail(root.error());
  TomlReader in(path, *root);
  HubDaemonConfig config;
  hub::NhsConfig& nhs = config.nhs;

  if (auto v = in.address("hub", "nbma_address")) nhs.nbma = *v;
  if (auto v = in.address("hub", "protocol_address")) nhs.protocol = *v;
  in.require("hub", "nbma_address");
  in.require("hub", "protocol_address");
  // What the daemon can run (raw GRE over IPv4, an IPv4 TUN overlay) is
  // checked here, so that `advpnd check` refuses what start would.
  if (nhs.nbma.family() == AddressFamily::Ipv6) in.fail_at("hub", "nbma_address", kOnlyIpv4Nbma);
  if (nhs.protocol.family() == AddressFamily::Ipv6) in.fail_at("hub", "protocol_address", kOnlyIpv4Overlay);
  if (auto v = in.integer("hub", "gre_key", 0, 0xFFFFFFFF)) config.gre_key = static_cast<std::uint32_t>(*v);
  if (auto v = in.integer("hub", "mtu", 0, 65535)) nhs.mtu = static_cast<std::uint16_t>(*v);
  if (auto v = in.string("hub", "tun_name")) {
    if (v->empty() || v->size() > 15) in.fail_at("hub", "tun_name", "must be 1..15 characters (IFNAMSIZ)");
    config.tun_name = *v;
  }
  if (auto v = in.integer("hub", "overlay_prefix_length", 1, 32)) {
    nhs.overlay_prefix_length = static_cast<std::uint8_t>(*v);
  }
  if (auto v = in.string("hub", "database")) config.database = *v;
  if (auto v = in.string("hub", "control_socket")) config.control_socket = *v;
  config.metrics_listen = in.listen_address("hub", "metrics_listen");
  if (auto v = in.choice("hub", "log_level", {"debug", "info", "warning", "error"})) {
    config.log_level = *v == "debug"     ? log::Level::Debug
                       : *v == "warning" ? log::Level::Warning
                       : *v == "error"   ? log::Level::Error
                                         : log::Level::Info;
  }
  if (auto v = in.choice("hub", "dialect", {"cisco", "frr"})) {
    nhs.dialect = *v == "frr" ? nhrp::Dialect::Frr : nhrp::Dialect::Cisco;
  }

  if (auto v = in.integer("registration", "max_holding_time", 1, 65535)) {
    nhs.max_holding_time = static_cast<std::uint16_t>(*v);
  }
  if (auto v = in.integer("registration", "default_holding_time", 1, 65535)) {
    nhs.default_holding_time = static_cast<std::uint16_t>(*v);
  }
  if (auto v = in.choice("registration", "unique", {"refuse", "overwrite"})) nhs.unique_overwrite = *v == "overwrite";
  if (auto v = in.integer("registration", "max_registrations", 1, 100'000'000)) {
    nhs.max_registrations = static_cast<std::size_t>(*v);
  }
  if (auto v = in.number("registration", "rate_per_second", 0.001, 1e6)) nhs.registration_rate.per_second = *v;
  if (auto v = in.number("registration", "rate_burst", 1, 1e6)) nhs.registration_rate.burst = *v;
  if (auto v = in.integer("registration", "max_cies_per_request", 1, 255)) {
    nhs.max_cies_per_request = static_cast<std::size_t>(*v);
  }
  if (auto v = in.integer("registration", "max_bindings_per_spoke", 1, 1'000'000)) {
    nhs.max_bindings_per_spoke = static_cast<std::size_t>(*v);
  }
  if (auto v = in.boolean("registration", "allow_lan_prefixes")) nhs.allow_lan_prefixes = *v;
  if (auto v = in.integer("registration", "sweep_interval", 1, 3600)) nhs.sweep_interval = std::chrono::seconds(*v);

  if (auto v = in.string("authentication", "password")) {
    if (v->empty() || v->size() > nhrp::kCiscoAuthMaxPassword) {
      in.fail_at("authentication", "password", "must be 1..8 characters (Cisco `ip nhrp authentication`)");
    } else {
      nhs.auth_password = *v;
    }
  }

  if (auto v = in.boolean("redirect", "enabled")) nhs.redirect.enabled = *v;
  if (auto v = in.number("redirect", "rate_per_minute", 0.001, 1e6)) nhs.redirect.rate.per_second = *v / 60.0;
  if (auto v = in.number("redirect", "burst", 1, 1e6)) nhs.redirect.rate.burst = *v;

  if (auto v = in.choice("store", "synchronous", {"full", "normal"})) {
    config.store.synchronous = *v == "normal" ? db::Synchronous::Normal : db::Synchronous::Full;
  }
  if (auto v = in.integer("store", "audit_retention_days", 1, 3650)) nhs.audit_retention_s = *v * 24 * 3600;
  if (auto v = in.integer("store", "busy_timeout_ms", 0, 10000))
    config.store.busy_timeout = std::chrono::milliseconds(*v);

  read_routing(in, config.routing);
  read_upstream(in, nhs);
  read_multicast(in, MulticastRole::Hub, config.multicast);
  read_ipsec(in, config);
  read_policies(in, nhs);

  in.finish({"hub", "registration", "authentication", "redirect", "store", "routing", "upstream", "multicast",
             "ipsec", "policy"});
  if (in.failed()) return fail(in.errors());
  config.warnings = in.warnings();
  config.values = in.values();
  return config;
}

}  // namespace advpnd::app
