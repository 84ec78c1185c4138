// Wireshark as a second opinion (ARCHITECTURE.md "Interop is a feature"):
// one packet of each type 1-8 from our builders, in both dialects, with and
// without Cisco authentication, written with write_nhrp_pcap and dissected
// by tshark. Wireshark must find nothing malformed, every checksum good, and
// the same type, request ID, addresses and CIE values as our decoder.
//
// tshark is a build dependency (scripts/install-deps.sh): when it is missing
// this test fails rather than skips.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>

#include "capture/capture.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "tests/app/subprocess.h"
#include "tests/support/temp_file.h"

namespace advpnd::test {
namespace {

using nhrp::Dialect;
using nhrp::Packet;

const IpAddress kHubNbma = IpAddress::v4(203, 0, 113, 1);
const IpAddress kHub = IpAddress::v4(10, 0, 0, 1);
const IpAddress kSpoke1Nbma = IpAddress::v4(198, 51, 100, 2);
const IpAddress kSpoke1 = IpAddress::v4(10, 0, 0, 2);
const IpAddress kSpoke2Nbma = IpAddress::v4(198, 51, 100, 3);
const IpAddress kSpoke2 = IpAddress::v4(10, 0, 0, 3);
const IpAddress kHost1 = IpAddress::v4(192, 168, 1, 10);
const IpAddress kHost2 = IpAddress::v4(192, 168, 2, 20);

struct Frame {
  std::string label;
  Packet packet;
  IpAddress from;
  IpAddress to;
};

nhrp::Sender sender(const IpAddress& nbma, const IpAddress& protocol, Dialect dialect,
                    const std::optional<std::string>& password) {
  nhrp::Sender s;
  s.nbma = nbma;
  s.protocol = protocol;
  s.dialect = dialect;
  s.auth_password = password;
  return s;
}

nhrp::Cie cie(const IpAddress& nbma, const IpAddress& protocol, std::uint8_t prefix, std::uint16_t mtu,
              std::uint16_t holding) {
  nhrp::Cie c;
  c.prefix_length = prefix;
  c.mtu = mtu;
  c.holding_time = holding;
  c.nbma = nbma;
  c.protocol = protocol;
  return c;
}

// An ICMP echo header as the hub sees it hair-pin (valid IPv4 checksum:
// the test turns Wireshark's IP checksum validation on).
std::vector<std::byte> inner_ping() {
  std::vector<std::byte> p(28);
  const std::uint8_t header[] = {0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 63, 1, 0, 0};
  for (std::size_t i = 0; i < sizeof header; ++i) p[i] = std::byte{header[i]};
  for (std::size_t i = 0; i < 4; ++i) {
    p[12 + i] = std::byte{kHost1.byte(i)};
    p[16 + i] = std::byte{kHost2.byte(i)};
  }
  const std::uint8_t icmp_echo[] = {8, 0, 0, 0, 0, 1, 0, 1};
  for (std::size_t i = 0; i < sizeof icmp_echo; ++i) p[20 + i] = std::byte{icmp_echo[i]};
  const std::uint16_t sum = nhrp::internet_checksum(std::span(p).first(20));
  p[10] = std::byte{static_cast<std::uint8_t>(sum >> 8)};
  p[11] = std::byte{static_cast<std::uint8_t>(sum)};
  return p;
}

// Types 1-8 (and a forwarded request, for a Forward Transit CIE) from one dialect.
std::vector<Frame> all_types(Dialect dialect, const std::optional<std::string>& password) {
  const auto hub = sender(kHubNbma, kHub, dialect, password);
  const auto spoke1 = sender(kSpoke1Nbma, kSpoke1, dialect, password);
  const auto spoke2 = sender(kSpoke2Nbma, kSpoke2, dialect, password);
  std::vector<Frame> frames;

  nhrp::RegistrationRequestSpec reg;
  reg.sender = spoke1;
  reg.nhs_protocol = kHub;
  reg.nhs_nbma = kHubNbma;
  reg.request_id = 11;
  reg.holding_time = 600;
  reg.mtu = 1400;
  const Packet registration = nhrp::build_registration_request(reg);
  frames.push_back({"registration request", registration, kSpoke1Nbma, kHubNbma});
  nhrp::ReplySpec hub_reply;
  hub_reply.sender = hub;
  hub_reply.responder = cie(kHubNbma, kHub, 32, 1400, 7200);
  frames.push_back({"registration reply", nhrp::build_registration_reply(registration, registration.cies, hub_reply),
                    kHubNbma, kSpoke1Nbma});

  nhrp::ResolutionRequestSpec res;
  res.sender = spoke1;
  res.target = kHost2;
  res.request_id = 12;
  res.mtu = 1400;
  if (dialect == Dialect::Frr) res.own_nat_nbma = IpAddress::v4(192, 0, 2, 77);
  const Packet resolution = nhrp::build_resolution_request(res);
  frames.push_back({"resolution request", resolution, kSpoke1Nbma, kHubNbma});
  Packet forwarded = resolution;
  forwarded.hop_count = static_cast<std::uint8_t>(forwarded.hop_count - 1);
  forwarded.find_extension(nhrp::ExtensionType::ForwardTransit)->cies.push_back(cie(kHubNbma, kHub, 0, 1514, 7200));
  frames.push_back({"forwarded resolution request", forwarded, kHubNbma, kSpoke2Nbma});
  nhrp::ReplySpec spoke2_reply;
  spoke2_reply.sender = spoke2;
  spoke2_reply.responder = cie(kSpoke2Nbma, kSpoke2, 32, 1400, 7200);
  const nhrp::Cie answer = cie(kSpoke2Nbma, kSpoke2, 24, 1400, 7200);
  frames.push_back({"resolution reply", nhrp::build_resolution_reply(forwarded, std::span(&answer, 1), spoke2_reply),
                    kSpoke2Nbma, kSpoke1Nbma});

  nhrp::PurgeRequestSpec purge;
  purge.sender = spoke2;
  purge.dst_protocol = kSpoke1;
  purge.request_id = 13;
  purge.cies = {cie(kSpoke2Nbma, IpAddress::v4(192, 168, 2, 0), 24, 0, 0)};
  const Packet purge_request = nhrp::build_purge_request(purge);
  frames.push_back({"purge request", purge_request, kSpoke2Nbma, kSpoke1Nbma});
  frames.push_back({"purge reply", nhrp::build_purge_reply(purge_request, spoke1), kSpoke1Nbma, kSpoke2Nbma});

  auto offending = nhrp::encode(resolution);
  REQUIRE(offending.ok());
  nhrp::ErrorIndicationSpec error;
  error.sender = hub;
  error.code = nhrp::ErrorCode::ProtocolAddressUnreachable;
  error.offset = 36;
  error.offending = *offending;
  error.offending_source = resolution.src_protocol;
  frames.push_back({"error indication", nhrp::build_error_indication(error), kHubNbma, kSpoke1Nbma});

  const auto ping = inner_ping();
  nhrp::TrafficIndicationSpec indication;
  indication.sender = hub;
  indication.inner_packet = ping;
  auto traffic = nhrp::build_traffic_indication(indication);
  REQUIRE(traffic.ok());
  frames.push_back({"traffic indication", *traffic, kHubNbma, kSpoke1Nbma});
  return frames;
}

// The fields asked of tshark, in column order; several values of one field
// in a frame come joined with '|', in the order Wireshark dissected them.
const std::vector<std::string> kFields = {"frame.number",
                                          "nhrp.hdr.op.type",
                                          "nhrp.reqid",
                                          "nhrp.hdr.chksum.status",
                                          "nhrp.src.nbma.addr",
                                          "nhrp.src.prot.addr",
                                          "nhrp.dst.prot.addr",
                                          "nhrp.code",
                                          "nhrp.prefix",
                                          "nhrp.mtu",
                                          "nhrp.htime",
                                          "nhrp.client.nbma.addr",
                                          "nhrp.client.prot.addr",
                                          "nhrp.err.code",
                                          "nhrp.err.offset",
                                          "nhrp.hdr.hopcnt",
                                          "nhrp.flags",
                                          "nhrp.ext.type",
                                          "_ws.expert.message",
                                          "_ws.malformed",
                                          "ip.checksum.status"};

using Values = std::map<std::string, std::vector<std::string>>;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (text.back() == separator) parts.emplace_back();
  return parts;
}

// Numbers as Wireshark prints them (decimal, or 0x-prefixed hex) as
// decimal, then joined with '|' so that a failure shows both sides.
std::string normalized(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    const bool numeric =
        !v.empty() && v[0] >= '0' && v[0] <= '9' && v.find_first_not_of("0123456789abcdefABCDEFx") == std::string::npos;
    if (!out.empty()) out += '|';
    out += numeric ? std::to_string(std::stoull(v, nullptr, 0)) : v;
  }
  return out;
}

// What Wireshark should report for `p`, from our decoder's reading of it,
// recursing into the packet an Error Indication quotes (Wireshark does too).
void expect_packet(const Packet& p, Values& want) {
  const auto add = [&](const std::string& field, std::uint64_t v) { want[field].push_back(std::to_string(v)); };
  const auto add_cie = [&](const nhrp::Cie& c) {
    add("nhrp.code", static_cast<std::uint64_t>(c.code));
    add("nhrp.prefix", c.prefix_length);
    add("nhrp.mtu", c.mtu);
    add("nhrp.htime", c.holding_time);
    if (!c.nbma.empty()) want["nhrp.client.nbma.addr"].push_back(c.nbma.to_string());
    if (!c.protocol.empty()) want["nhrp.client.prot.addr"].push_back(c.protocol.to_string());
  };
  add("nhrp.hdr.op.type", static_cast<std::uint64_t>(p.type));
  add("nhrp.hdr.hopcnt", p.hop_count);
  add("nhrp.hdr.chksum.status", 1);  // PROTO_CHECKSUM_E_GOOD
  if (nhrp::has_common_header(p.type)) {
    add("nhrp.reqid", p.request_id);
    add("nhrp.flags", p.flags);
  }
  want["nhrp.src.nbma.addr"].push_back(p.src_nbma.to_string());
  want["nhrp.src.prot.addr"].push_back(p.src_protocol.to_string());
  want["nhrp.dst.prot.addr"].push_back(p.dst_protocol.to_string());
  for (const auto& c : p.cies) add_cie(c);
  if (p.type == nhrp::PacketType::ErrorIndication) {
    add("nhrp.err.code", static_cast<std::uint64_t>(p.error_code));
    add("nhrp.err.offset", p.error_offset);
    auto quoted = nhrp::decode(p.payload);
    REQUIRE(quoted.ok());
    expect_packet(*quoted, want);
  }
  for (const auto& ext : p.extensions) {
    add("nhrp.ext.type", ext.raw_type & nhrp::kExtensionTypeMask);
    for (const auto& c : ext.cies) add_cie(c);
  }
}

TEST_CASE("tshark agrees with our decoder on every packet type, both dialects") {
  const CommandResult version = run_command({"tshark", "--version"});
  REQUIRE_MESSAGE(version.exit_code == 0, "tshark is required for this test: run scripts/install-deps.sh");

  std::vector<Frame> frames;
  for (const Dialect dialect : {Dialect::Cisco, Dialect::Frr}) {
    for (const auto& password : {std::optional<std::string>{}, std::optional<std::string>{"secret"}}) {
      for (auto& frame : all_types(dialect, password)) {
        frame.label += std::string(dialect == Dialect::Cisco ? ", Cisco" : ", FRR") + (password ? ", auth" : "");
        frames.push_back(std::move(frame));
      }
    }
  }
  std::vector<capture::OutgoingNhrp> outgoing;
  for (const auto& frame : frames) {
    auto bytes = nhrp::encode(frame.packet);
    REQUIRE(bytes.ok());
    outgoing.push_back({frame.from, frame.to, 1000, *bytes});
  }
  const TempFile file(".pcap");
  REQUIRE(capture::write_nhrp_pcap(file.path(), outgoing).ok());

  // Cisco's Authentication extension has no source address (NHRP-WIRE.md 7.5).
  std::vector<std::string> argv{"tshark",    "-r",
                                file.path(), "-n",
                                "-o",        "nhrp.auth_ext_has_addr:FALSE",
                                "-o",        "ip.check_checksum:TRUE",
                                "-T",        "fields",
                                "-E",        "occurrence=a",
                                "-E",        "aggregator=|",
                                "-E",        "separator=/t"};
  for (const auto& field : kFields) {
    argv.push_back("-e");
    argv.push_back(field);
  }
  const CommandResult result = run_command(argv);
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const auto rows = split_lines(result.out);
  REQUIRE(rows.size() == frames.size());

  for (std::size_t i = 0; i < frames.size(); ++i) {
    CAPTURE(frames[i].label);
    CAPTURE(rows[i]);
    const auto columns = split(rows[i], '\t');
    REQUIRE(columns.size() == kFields.size());
    Values got;
    for (std::size_t c = 0; c < kFields.size(); ++c) got[kFields[c]] = split(columns[c], '|');

    CHECK(got["frame.number"] == std::vector<std::string>{std::to_string(i + 1)});
    CHECK(got["_ws.malformed"].empty());
    CHECK(got["_ws.expert.message"].empty());
    for (const auto& status : got["ip.checksum.status"]) CHECK(status == "1");  // outer (and inner) IPv4

    auto decoded = nhrp::decode(outgoing[i].nhrp);
    REQUIRE(decoded.ok());
    Values want;
    expect_packet(*decoded, want);
    for (const auto& field : kFields) {
      if (field == "frame.number" || field.rfind("_ws.", 0) == 0 || field.rfind("ip.", 0) == 0) continue;
      CAPTURE(field);
      CHECK(normalized(got[field]) == normalized(want[field]));
    }
  }
}

}  // namespace
}  // namespace advpnd::test
