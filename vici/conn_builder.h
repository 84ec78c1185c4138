// The request messages the strongSwan provider sends (vici README,
// "Client-initiated commands"; connection keys as in swanctl.conf(5)).
//
// One connection per peer, protecting only GRE between the two NBMA
// addresses (strongswan-netns.md):
//
//   advpnd-198.51.100.3 {
//     version=2 local_addrs=[<own NBMA>] remote_addrs=[198.51.100.3]
//     proposals=[...] dpd_delay=30s mobike=no
//     local { auth=psk|pubkey [id=...] [certs=[<PEM>]] }
//     remote { auth=psk|pubkey [id=...] [cacerts=[<PEM>]] }
//     children { gre { local_ts=[dynamic[gre]] remote_ts=[dynamic[gre]]
//                      mode=tunnel|transport esp_proposals=[...] } } }
//
// kernel-libipsec supports tunnel mode only; transport is for kernels with
// ESP (kernel-netlink). A name is any byte string to VICI (dots are fine,
// although swanctl.conf's syntax would refuse them).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "vici/message.h"

namespace advpnd::vici {

enum class IpsecMode : std::uint8_t { Tunnel, Transport };
enum class AuthMethod : std::uint8_t { Psk, Certificate };

struct AuthConfig {
  AuthMethod method = AuthMethod::Psk;
  std::string psk;        // Psk: the shared secret (load-shared type IKE)
  std::string local_id;   // IKE identities; empty: charon's default (own
  std::string remote_id;  // address locally, %any for the remote)
  std::string cert_pem;   // Certificate: our certificate, private key and
  std::string key_pem;    // the CA that signs the peers' certificates,
  std::string ca_pem;     // all as PEM data (VICI takes data, not paths)
};

// What every per-peer connection shares.
struct TunnelPolicy {
  IpsecMode mode = IpsecMode::Tunnel;
  std::vector<std::string> ike_proposals{"aes256-sha256-modp2048"};
  std::vector<std::string> esp_proposals{"aes256-sha256"};
  std::chrono::seconds dpd_delay{30};  // 0: no dead peer detection
  std::string child_name = "gre";
  AuthConfig auth;
};

struct ConnSpec {
  std::string name;
  std::vector<std::string> local_addrs;   // empty: any local address
  std::vector<std::string> remote_addrs;  // "%any" for a responder template
  // The peer's traffic selector; default dynamic[gre] (its IKE address).
  // A responder template takes 0.0.0.0/0[gre]: behind NAT, in tunnel mode
  // (kernel-libipsec), a peer proposes its own private address, not the
  // NAT's, and charon narrows the selector to that.
  std::string remote_ts = "dynamic[gre]";
  TunnelPolicy policy;
};

// "advpnd-" + the address as text: one name per peer, stable across restarts.
[[nodiscard]] std::string conn_name(std::string_view prefix, const IpAddress& peer);

[[nodiscard]] Message build_load_conn(const ConnSpec& spec);
[[nodiscard]] Message build_unload_conn(const std::string& name);
// load-shared { id, type=IKE, data, owners=[...] }: `id` names the secret so
// that loading it again (after a charon restart, or twice) replaces it.
[[nodiscard]] Message build_load_shared(const std::string& id, const AuthConfig& auth);
[[nodiscard]] Message build_load_key(const std::string& pem);
[[nodiscard]] Message build_load_ca(const std::string& pem);
// initiate { child, ike, timeout(ms) }: `timeout` 0 would wait forever, -1 not at all.
[[nodiscard]] Message build_initiate(const std::string& child, const std::string& ike,
                                     std::chrono::milliseconds timeout);
// terminate { ike, force=yes, timeout(ms) }: a proper DELETE, forced after the timeout.
[[nodiscard]] Message build_terminate(const std::string& ike, std::chrono::milliseconds timeout);
// terminate { ike-id, force=yes, timeout(ms) }: one IKE_SA, whichever
// connection it belongs to (a peer's SA to our responder template).
[[nodiscard]] Message build_terminate_id(std::uint64_t ike_id, std::chrono::milliseconds timeout);
// list-sas { noblock=yes [ike] }: noblock skips IKE_SAs busy in an exchange
// instead of waiting for them; `noblock` false waits for them.
[[nodiscard]] Message build_list_sas(const std::string& ike = {}, bool noblock = true);

// A command's answer { success=yes|no errmsg=... }: empty when it succeeded,
// else the reason ("no errmsg" when charon gave none).
[[nodiscard]] std::string command_failure(const Message& response);

}  // namespace advpnd::vici
