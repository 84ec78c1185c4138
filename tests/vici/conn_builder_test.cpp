// The request messages of the strongSwan provider (vici/conn_builder.h),
// compared as text renderings: what charon receives, key by key, in order.
#include <doctest/doctest.h>

#include "vici/conn_builder.h"

namespace {

using namespace advpnd::vici;
using advpnd::IpAddress;

TEST_CASE("conn_builder: a per-peer GRE-only connection with PSK auth") {
  ConnSpec spec;
  spec.name = conn_name("advpnd-", IpAddress::v4(198, 51, 100, 3));
  spec.local_addrs = {"192.0.2.1"};
  spec.remote_addrs = {"198.51.100.3"};
  CHECK(spec.name == "advpnd-198.51.100.3");
  CHECK(to_text(build_load_conn(spec)) ==
        "{advpnd-198.51.100.3{version=2 local_addrs=[192.0.2.1] remote_addrs=[198.51.100.3] "
        "proposals=[aes256-sha256-modp2048] dpd_delay=30s mobike=no local{auth=psk} remote{auth=psk} "
        "children{gre{local_ts=[dynamic[gre]] remote_ts=[dynamic[gre]] mode=tunnel esp_proposals=[aes256-sha256] "
        "start_action=none dpd_action=clear}}}}");
}

TEST_CASE("conn_builder: a responder template, transport mode, certificates, no DPD") {
  ConnSpec spec;
  spec.name = "advpnd-any";
  spec.remote_addrs = {"%any"};
  spec.policy.mode = IpsecMode::Transport;
  spec.policy.dpd_delay = std::chrono::seconds(0);
  spec.policy.ike_proposals = {};
  spec.policy.esp_proposals = {"aes128gcm16"};
  spec.policy.child_name = "tunnel";
  spec.policy.auth.method = AuthMethod::Certificate;
  spec.policy.auth.local_id = "spoke1.example";
  spec.policy.auth.cert_pem = "CERT";
  spec.policy.auth.ca_pem = "CA";
  CHECK(to_text(build_load_conn(spec)) ==
        "{advpnd-any{version=2 remote_addrs=[%any] mobike=no local{auth=pubkey id=spoke1.example certs=[CERT]} "
        "remote{auth=pubkey cacerts=[CA]} children{tunnel{local_ts=[dynamic[gre]] remote_ts=[dynamic[gre]] "
        "mode=transport esp_proposals=[aes128gcm16] start_action=none dpd_action=clear}}}}");
}

TEST_CASE("conn_builder: conn names for IPv6 peers keep the address text") {
  CHECK(conn_name("advpnd-", *IpAddress::parse("2001:db8::3")) == "advpnd-2001:db8::3");
}

TEST_CASE("conn_builder: credentials and control commands") {
  AuthConfig auth;
  auth.psk = "s3cret";
  CHECK(to_text(build_load_shared("advpnd-psk", auth)) == "{id=advpnd-psk type=IKE data=s3cret owners=[]}");
  auth.local_id = "192.0.2.1";
  auth.remote_id = "%any";
  CHECK(to_text(build_load_shared("advpnd-psk", auth)) ==
        "{id=advpnd-psk type=IKE data=s3cret owners=[192.0.2.1, %any]}");
  CHECK(to_text(build_load_key("PEM")) == "{type=any data=PEM}");
  CHECK(to_text(build_load_ca("PEM")) == "{type=X509 flag=CA data=PEM}");
  CHECK(to_text(build_initiate("gre", "advpnd-x", std::chrono::milliseconds(1500))) ==
        "{child=gre ike=advpnd-x timeout=1500}");
  CHECK(to_text(build_terminate("advpnd-x", std::chrono::milliseconds(3000))) ==
        "{ike=advpnd-x force=yes timeout=3000}");
  CHECK(to_text(build_unload_conn("advpnd-x")) == "{name=advpnd-x}");
  CHECK(to_text(build_list_sas()) == "{noblock=yes}");
  CHECK(to_text(build_list_sas("advpnd-x")) == "{noblock=yes ike=advpnd-x}");
  CHECK(to_text(build_list_sas({}, false)) == "{}");  // waits for busy IKE_SAs: confirms a vanished one
}

TEST_CASE("conn_builder: command_failure reads success/errmsg") {
  CHECK(command_failure(Message().add("success", "yes")).empty());
  CHECK(command_failure(Message().add("success", "no").add("errmsg", "CHILD_SA config 'gre' not found")) ==
        "CHILD_SA config 'gre' not found");
  CHECK(command_failure(Message().add("success", "no")) == "no errmsg");
  CHECK(command_failure(Message()) == "no errmsg");
}

}  // namespace
