// write_nhrp_pcap: each NHRP packet wrapped the way a Cisco router sends it
// (NHRP-WIRE.md 1.1: outer TOS 0xC0, TTL 255, GRE protocol 0x2001, optional
// key), in an Ethernet frame, written through libpcap's dumper.
#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "capture/capture.h"
#include "capture/dissect.h"
#include "capture/path_error.h"
#include "nhrp/codec.h"
#include "nhrp/gre.h"
#include "nhrp/types.h"

namespace advpnd::capture {

namespace {

constexpr int kSnapLength = 65535;
constexpr std::size_t kEthernetHeaderSize = 14;
constexpr std::size_t kIpv4HeaderSize = 20;
constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kMaxIpLength = 65535;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr std::uint8_t kTosInternetControl = 0xC0;  // IP precedence 6, as Cisco sends NHRP
constexpr std::uint8_t kTtl = 255;
constexpr std::uint8_t kIpProtoGre = 47;
// Frame timestamps are fixed so that the same packets give the same file
// (the shipped sample is compared byte for byte): 2024-01-01T00:00:00Z,
// then 10 ms apart.
constexpr long kTimestampBaseSeconds = 1704067200;
constexpr long kTimestampStepMicros = 10000;

struct PcapCloser {
  void operator()(pcap_t* handle) const { pcap_close(handle); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* dumper) const { pcap_dump_close(dumper); }
};

// A locally administered MAC (02:00 + last four address bytes), so that every
// station keeps one MAC throughout a file.
void write_mac(ByteWriter& out, const IpAddress& address) {
  out.u8(0x02);
  out.u8(0x00);
  const std::size_t n = address.size();
  for (std::size_t i = n - 4; i < n; ++i) out.u8(address.byte(i));
}

void write_ipv4_header(ByteWriter& out, const OutgoingNhrp& packet, std::size_t total_length, std::uint16_t id) {
  const std::size_t start = out.offset();
  out.u8(0x45);  // version 4, IHL 5
  out.u8(kTosInternetControl);
  out.u16(static_cast<std::uint16_t>(total_length));
  out.u16(id);
  out.u16(0);  // flags and fragment offset: Cisco does not set DF on NHRP
  out.u8(kTtl);
  out.u8(kIpProtoGre);
  out.u16(0);  // header checksum, patched below
  out.bytes(packet.outer_source.bytes());
  out.bytes(packet.outer_destination.bytes());
  if (!out.ok()) return;
  // RFC 791 header checksum: RFC 1071 sum over the 20 header bytes.
  const auto header = out.written().subspan(start, kIpv4HeaderSize);
  out.patch_u16(start + 10, nhrp::internet_checksum(header));
}

void write_ipv6_header(ByteWriter& out, const OutgoingNhrp& packet, std::size_t payload_length) {
  out.u32(0x6C000000);  // version 6, traffic class 0xC0, flow label 0
  out.u16(static_cast<std::uint16_t>(payload_length));
  out.u8(kIpProtoGre);
  out.u8(kTtl);  // hop limit
  out.bytes(packet.outer_source.bytes());
  out.bytes(packet.outer_destination.bytes());
}

Result<std::vector<std::byte>, std::string> build_frame(const OutgoingNhrp& packet, std::uint16_t id) {
  const auto family = packet.outer_source.family();
  if (family == AddressFamily::None || family != packet.outer_destination.family()) {
    return fail(std::string("outer source and destination must both be IPv4 or both IPv6"));
  }
  nhrp::GreHeader gre;
  gre.protocol = nhrp::kGreProtocolNhrp;
  gre.key = packet.gre_key;
  const std::size_t gre_size = nhrp::gre_header_size(gre);
  const bool v4 = family == AddressFamily::Ipv4;
  const std::size_t ip_header = v4 ? kIpv4HeaderSize : kIpv6HeaderSize;
  const std::size_t ip_length = ip_header + gre_size + packet.nhrp.size();
  if (ip_length > kMaxIpLength) {
    return fail("NHRP packet of " + std::to_string(packet.nhrp.size()) + " bytes does not fit an IP datagram");
  }
  std::vector<std::byte> frame(kEthernetHeaderSize + ip_length);
  ByteWriter out(frame);
  write_mac(out, packet.outer_destination);
  write_mac(out, packet.outer_source);
  out.u16(v4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
  if (v4) {
    write_ipv4_header(out, packet, ip_length, id);
  } else {
    write_ipv6_header(out, packet, ip_length - kIpv6HeaderSize);
  }
  std::array<std::byte, 16> gre_bytes{};
  out.bytes(std::span(gre_bytes).first(nhrp::encode_gre_header(gre, gre_bytes)));
  out.bytes(packet.nhrp);
  if (!out.ok() || out.offset() != frame.size()) return fail(std::string("frame layout error"));
  return frame;
}

}  // namespace

Status<std::string> write_nhrp_pcap(const std::string& path, std::span<const OutgoingNhrp> packets) {
  // Build every frame first: an invalid packet leaves no half-written file.
  std::vector<std::vector<std::byte>> frames;
  frames.reserve(packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) {
    // IP identification counts up from 1 per file, as a router's would.
    auto frame = build_frame(packets[i], static_cast<std::uint16_t>(i + 1));
    if (!frame) return fail(path + ": packet " + std::to_string(i + 1) + ": " + frame.error());
    frames.push_back(std::move(frame).value());
  }

  std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead(kLinkEthernet, kSnapLength));
  if (!dead) return fail(path + ": pcap_open_dead failed");
  std::unique_ptr<pcap_dumper_t, DumperCloser> dumper(pcap_dump_open(dead.get(), path.c_str()));
  if (!dumper) return fail(path_error(path, pcap_geterr(dead.get())));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const long micros = static_cast<long>(i) * kTimestampStepMicros;
    pcap_pkthdr header{};
    header.ts.tv_sec = kTimestampBaseSeconds + micros / 1000000;
    header.ts.tv_usec = micros % 1000000;
    header.caplen = static_cast<bpf_u_int32>(frames[i].size());
    header.len = header.caplen;
    // pcap_dump's first parameter is the dumper passed as the callback's u_char* user data.
    pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &header, reinterpret_cast<const u_char*>(frames[i].data()));
  }
  if (pcap_dump_flush(dumper.get()) != 0) return fail(path + ": write failed");
  return {};
}

}  // namespace advpnd::capture
