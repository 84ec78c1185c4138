#include "vici/conn_builder.h"

#include <utility>

namespace advpnd::vici {

std::string conn_name(std::string_view prefix, const IpAddress& peer) { return std::string(prefix) + peer.to_string(); }

namespace {

// swanctl.conf(5) connections.<conn>.local<suffix> / remote<suffix>.
Section auth_section(const AuthConfig& auth, bool local) {
  Section section;
  section.add("auth", auth.method == AuthMethod::Psk ? "psk" : "pubkey");
  const std::string& id = local ? auth.local_id : auth.remote_id;
  if (!id.empty()) section.add("id", id);
  if (auth.method == AuthMethod::Certificate) {
    if (local && !auth.cert_pem.empty()) section.add_list("certs", {auth.cert_pem});
    if (!local && !auth.ca_pem.empty()) section.add_list("cacerts", {auth.ca_pem});
  }
  return section;
}

}  // namespace

Message build_load_conn(const ConnSpec& spec) {
  const TunnelPolicy& policy = spec.policy;
  Section child;
  // A host-to-host SA for GRE only (protocol 47) between the two addresses.
  child.add_list("local_ts", {"dynamic[gre]"});
  child.add_list("remote_ts", {spec.remote_ts});
  child.add("mode", policy.mode == IpsecMode::Tunnel ? "tunnel" : "transport");
  if (!policy.esp_proposals.empty()) child.add_list("esp_proposals", policy.esp_proposals);
  // The daemon decides when to initiate (start_action=trap raises no acquire
  // with kernel-libipsec); a dead peer's SA is just cleared.
  child.add("start_action", "none");
  child.add("dpd_action", "clear");

  Section children;
  children.add_section(policy.child_name, std::move(child));

  Section conn;
  conn.add("version", "2");
  if (!spec.local_addrs.empty()) conn.add_list("local_addrs", spec.local_addrs);
  if (!spec.remote_addrs.empty()) conn.add_list("remote_addrs", spec.remote_addrs);
  if (!policy.ike_proposals.empty()) conn.add_list("proposals", policy.ike_proposals);
  if (policy.dpd_delay.count() > 0) conn.add("dpd_delay", std::to_string(policy.dpd_delay.count()) + "s");
  // NBMA addresses are fixed per connection: no MOBIKE address updates.
  conn.add("mobike", "no");
  conn.add_section("local", auth_section(policy.auth, true));
  conn.add_section("remote", auth_section(policy.auth, false));
  conn.add_section("children", std::move(children));

  Message message;
  message.add_section(spec.name, std::move(conn));
  return message;
}

Message build_unload_conn(const std::string& name) {
  Message message;
  message.add("name", name);
  return message;
}

Message build_load_shared(const std::string& id, const AuthConfig& auth) {
  std::vector<std::string> owners;
  if (!auth.local_id.empty()) owners.push_back(auth.local_id);
  if (!auth.remote_id.empty()) owners.push_back(auth.remote_id);
  Message message;
  message.add("id", id);
  message.add("type", "IKE");
  message.add("data", auth.psk);
  // No owners: the secret applies to every identity (one group key per cloud).
  message.add_list("owners", std::move(owners));
  return message;
}

Message build_load_key(const std::string& pem) {
  Message message;
  message.add("type", "any");
  message.add("data", pem);
  return message;
}

Message build_load_ca(const std::string& pem) {
  Message message;
  message.add("type", "X509");
  message.add("flag", "CA");
  message.add("data", pem);
  return message;
}

Message build_initiate(const std::string& child, const std::string& ike, std::chrono::milliseconds timeout) {
  Message message;
  message.add("child", child);
  message.add("ike", ike);
  message.add("timeout", std::to_string(timeout.count()));
  return message;
}

Message build_terminate(const std::string& ike, std::chrono::milliseconds timeout) {
  Message message;
  message.add("ike", ike);
  message.add("force", "yes");
  message.add("timeout", std::to_string(timeout.count()));
  return message;
}

Message build_terminate_id(std::uint64_t ike_id, std::chrono::milliseconds timeout) {
  Message message;
  message.add("ike-id", std::to_string(ike_id));
  message.add("force", "yes");
  message.add("timeout", std::to_string(timeout.count()));
  return message;
}

Message build_list_sas(const std::string& ike, bool noblock) {
  Message message;
  if (noblock) message.add("noblock", "yes");
  if (!ike.empty()) message.add("ike", ike);
  return message;
}

std::string command_failure(const Message& response) {
  if (response.find_bool("success")) return {};
  std::string reason = response.value_or("errmsg");
  return reason.empty() ? std::string("no errmsg") : reason;
}

}  // namespace advpnd::vici
