// `advpnd check --config FILE` on a table of broken configs, with the exact
// output expected (issue #14: "a table of broken configs with the exact
// messages expected"): every error of the file at once, in the order of the
// file (what is absent from it last), one "FILE:LINE: KEY: problem" line
// each; warnings of a good file as
// "FILE:LINE: KEY: warning: ...". The daemon is run as a process: no root,
// no daemon started.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "tests/app/subprocess.h"
#include "tests/support/temp_file.h"

namespace advpnd::test {
namespace {

struct CheckCase {
  const char* name;
  std::string config;
  int exit_code;
  std::string out;  // FILE stands for the config's path
  std::string err;
};

std::string with_path(std::string text, const std::string& path) {
  for (auto at = text.find("FILE"); at != std::string::npos; at = text.find("FILE", at + path.size())) {
    text.replace(at, 4, path);
  }
  return text;
}

const CheckCase kCases[] = {
    {"spoke: every error at once, in file order",
     "[spoke]\n"
     "nbma_address = \"198.51.100.300\"\n"
     "protocol_address = \"10.0.0.2\"\n"
     "mtu = 100\n"
     "[[nhs]]\n"
     "nbma_address = \"203.0.113.1\"\n"
     "priority = 300\n"
     "[shortcuts]\n"
     "idle_timeout = \"2m\"\n"
     "[ipsec]\n"
     "provider = \"none\"\n"
     "frobnicate = 1\n",
     1, "",
     "FILE:2: spoke.nbma_address: \"198.51.100.300\" is not an IPv4 or IPv6 address\n"
     "FILE:4: spoke.mtu: must be 576..9000, got 100\n"
     "FILE:7: nhs[0].priority: must be 0..255, got 300\n"
     "FILE:9: shortcuts.idle_timeout: must be an integer\n"
     "FILE:12: ipsec.frobnicate: unknown key\n"},
    {"spoke: prefixes parsed strictly, each element at its own line",
     "[spoke]\n"
     "nbma_address = \"198.51.100.2\"\n"
     "protocol_address = \"10.0.0.2\"\n"
     "local_prefixes = [\n"
     "  \"x/\",\n"
     "  \"192.168.2.0/24abc\",\n"
     "  \"10.0.0.0/33\",\n"
     "  \"192.168.3.0\",\n"
     "  \"192.168.4.0/\",\n"
     "  \"192.168.5.0/-1\",\n"
     "  \"2001:db8::/64\",\n"
     "  \"192.168.6.0/24\",\n"
     "]\n"
     "[[nhs]]\n"
     "nbma_address = \"203.0.113.1\"\n"
     "[ipsec]\n"
     "psk = \"secret\"\n",
     1, "",
     "FILE:5: spoke.local_prefixes: \"x/\": \"x\" is not an IPv4 or IPv6 address\n"
     "FILE:6: spoke.local_prefixes: \"192.168.2.0/24abc\": \"24abc\" is not a prefix length\n"
     "FILE:7: spoke.local_prefixes: \"10.0.0.0/33\": prefix length 33 is longer than 32\n"
     "FILE:8: spoke.local_prefixes: \"192.168.3.0\": has no /LENGTH (e.g. 192.168.2.0/24)\n"
     "FILE:9: spoke.local_prefixes: \"192.168.4.0/\": \"\" is not a prefix length\n"
     "FILE:10: spoke.local_prefixes: \"192.168.5.0/-1\": \"-1\" is not a prefix length\n"
     "FILE:11: spoke.local_prefixes: \"2001:db8::/64\": only an IPv4 overlay is supported yet\n"},
    {"spoke: a duplicate NHS and the spoke itself as NHS are refused",
     "[spoke]\n"
     "nbma_address = \"198.51.100.2\"\n"
     "protocol_address = \"10.0.0.2\"\n"
     "[[nhs]]\n"
     "nbma_address = \"203.0.113.1\"\n"
     "protocol_address = \"10.0.0.1\"\n"
     "[[nhs]]\n"
     "nbma_address = \"203.0.113.1\"\n"
     "[[nhs]]\n"
     "nbma_address = \"198.51.100.2\"\n"
     "protocol_address = \"10.0.0.1\"\n"
     "[[nhs]]\n"
     "nbma_address = \"203.0.113.4\"\n"
     "protocol_address = \"10.0.0.2\"\n"
     "[ipsec]\n"
     "psk = \"secret\"\n",
     1, "",
     "FILE:8: nhs[1].nbma_address: 203.0.113.1 is already nhs[0]\n"
     "FILE:10: nhs[2].nbma_address: 198.51.100.2 is this spoke's own spoke.nbma_address\n"
     "FILE:11: nhs[2].protocol_address: 10.0.0.1 is already nhs[0]\n"
     "FILE:14: nhs[3].protocol_address: 10.0.0.2 is this spoke's own spoke.protocol_address\n"},
    {"spoke: address families the daemon cannot run",
     "[spoke]\n"
     "nbma_address = \"2001:db8::2\"\n"
     "protocol_address = \"fd00::2\"\n"
     "[[nhs]]\n"
     "nbma_address = \"2001:db8::1\"\n"
     "protocol_address = \"fd00::1\"\n"
     "[ipsec]\n"
     "psk = \"secret\"\n",
     1, "",
     "FILE:2: spoke.nbma_address: only IPv4 NBMA is supported yet\n"
     "FILE:3: spoke.protocol_address: only an IPv4 overlay is supported yet\n"
     "FILE:5: nhs[0].nbma_address: only IPv4 NBMA is supported yet\n"
     "FILE:6: nhs[0].protocol_address: only an IPv4 overlay is supported yet\n"},
    {"spoke: what is missing, said once per key",
     "[spoke]\n"
     "nbma_address = \"198.51.100.2\"\n",
     1, "",
     "FILE:1: spoke.protocol_address: required key is missing\n"
     "FILE: nhs.nbma_address: at least one [[nhs]] section is required\n"
     "FILE: ipsec.psk: the strongswan provider needs psk, or certificate + private_key + ca_certificate\n"},
    {"spoke: host bits and provider none are warnings, not errors",
     "[spoke]\n"
     "nbma_address = \"198.51.100.2\"\n"
     "protocol_address = \"10.0.0.2\"\n"
     "local_prefixes = [\"192.168.2.1/24\"]\n"
     "[[nhs]]\n"
     "nbma_address = \"203.0.113.1\"\n"
     "[ipsec]\n"
     "provider = \"none\"\n",
     0, "FILE: ok (spoke 10.0.0.2 on 198.51.100.2, 1 NHS)\n",
     "FILE:4: spoke.local_prefixes: warning: \"192.168.2.1/24\" has host bits set: it means 192.168.2.0/24\n"
     "FILE:8: ipsec.provider: warning: \"none\" sends NHRP and overlay traffic in clear GRE: for labs only\n"},
    {"hub: every error at once",
     "[hub]\n"
     "nbma_address = \"127.0.0.1\"\n"
     "protocol_address = \"10.0.0.1\"\n"
     "frobnicate = 1\n"
     "[registration]\n"
     "max_holding_time = 70000\n"
     "[redirect]\n"
     "enabled = \"yes\"\n"
     "[authentication]\n"
     "password = \"much-too-long\"\n"
     "[hubb]\n",
     1, "",
     "FILE:4: hub.frobnicate: unknown key\n"
     "FILE:6: registration.max_holding_time: must be 1..65535, got 70000\n"
     "FILE:8: redirect.enabled: must be true or false\n"
     "FILE:10: authentication.password: must be 1..8 characters (Cisco `ip nhrp authentication`)\n"
     "FILE:11: hubb: unknown section\n"},
    {"hub: address families the daemon cannot run",
     "[hub]\n"
     "nbma_address = \"::1\"\n"
     "protocol_address = \"fd00::1\"\n",
     1, "",
     "FILE:2: hub.nbma_address: only IPv4 NBMA is supported yet\n"
     "FILE:3: hub.protocol_address: only an IPv4 overlay is supported yet\n"},
};

}  // namespace

TEST_CASE("advpnd check: a table of broken configs, with the exact output of each") {
  for (const CheckCase& c : kCases) {
    CAPTURE(c.name);
    TempFile file(".toml");
    std::ofstream(file.path()) << c.config;
    const CommandResult result = run_command({ADVPND_BIN, "check", "--config", file.path()});
    CHECK(result.exit_code == c.exit_code);
    CHECK(result.out == with_path(c.out, file.path()));
    CHECK(result.err == with_path(c.err, file.path()));
  }
}

}  // namespace advpnd::test
