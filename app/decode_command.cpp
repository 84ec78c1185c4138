#include "app/decode_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>

#include "app/json.h"
#include "app/packet_json.h"
#include "base/byte_io.h"
#include "nhrp/codec.h"

namespace advpnd::app {

namespace {

constexpr std::string_view kDecodeDescription =
    "Decode the NHRP packets in a pcap or pcapng capture: an operator's tool for interop "
    "debugging. Capture NHRP from a Cisco IOS or FRR nhrpd peer (tcpdump -w, Wireshark, or "
    "'monitor capture' on IOS), pass the file here, and see each packet as one JSON line: "
    "its fields, whether its checksum verifies, and whether advpnd re-encodes it byte for byte.";

constexpr std::string_view kDecodeFooter =
    "Reads Ethernet (802.1Q/802.1ad tags), Linux cooked (SLL/SLL2) and raw IP captures; NHRP in "
    "GRE (protocol type 0x2001, any key) or directly over IP protocol 54.\n"
    "\n"
    "Each line: frame, nbma_src/nbma_dst (outer IP), gre_key, length (ar$pktsz), checksum, "
    "checksum_ok, roundtrip, op_type, type, hop_count, request_id/flags (types 1-6), "
    "error_code/error_offset (7), traffic_code/inner_src/inner_dst (8), src_nbma, src_proto, "
    "dst_proto, cies, extensions (wire order; cies, password). A packet that does not decode "
    "gives {\"frame\", \"error\", \"field\", \"offset\"}.\n"
    "\n"
    "Exit status: 0 every packet decoded, 1 some packet did not decode (all are still printed), "
    "2 the file could not be read (or --write-raw could not write).";

// ar$pktsz (RFC 2332 5.2.0.1, bytes 10-11); decode() has checked it fits.
std::size_t packet_size_field(std::span<const std::byte> nhrp) {
  ByteReader reader(nhrp);
  std::uint16_t size = 0;
  if (!reader.skip(10) || !reader.read_u16(size)) return 0;
  return size;
}

void write_outer(JsonWriter& json, const capture::CapturedNhrp& captured) {
  json.field("nbma_src", captured.outer_source.to_string());
  json.field("nbma_dst", captured.outer_destination.to_string());
  if (captured.gre_key) json.field("gre_key", *captured.gre_key);
  if (!captured.in_gre) json.field("encap", "ip");  // NHRP directly over IP protocol 54
}

// --write-raw: one file per packet, the NHRP bytes exactly as captured.
bool write_raw(const std::filesystem::path& dir, const std::string& capture_path, const capture::CapturedNhrp& captured,
               std::ostream& err) {
  if (captured.nhrp.empty()) return true;
  const std::string stem = capture_path == "-" ? "stdin" : std::filesystem::path(capture_path).stem().string();
  const auto file = dir / (stem + "-frame" + std::to_string(captured.frame) + ".bin");
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(captured.nhrp.data()), static_cast<std::streamsize>(captured.nhrp.size()));
  if (!out) {
    err << "advpnd decode: " << file.string() << ": cannot write\n";
    return false;
  }
  return true;
}

}  // namespace

DecodeLine decode_line(const capture::CapturedNhrp& captured) {
  DecodeLine line;
  JsonWriter json;
  json.begin_object().field("frame", captured.frame);
  if (!captured.error.empty()) {
    json.field("error", captured.error).field("field", "capture");
    write_outer(json, captured);
    line.json = json.end_object().take();
    return line;
  }
  const std::span<const std::byte> bytes = captured.nhrp;
  auto decoded = nhrp::decode(bytes, {.verify_checksum = false});
  if (!decoded) {
    const auto& error = decoded.error();
    json.field("error", error.message()).field("field", error.field).field("offset", error.offset);
    json.field("reason", nhrp::to_string(error.code));
    write_outer(json, captured);
    line.json = json.end_object().take();
    return line;
  }
  line.decoded = true;
  line.checksum_ok = nhrp::checksum_valid(bytes);
  const std::size_t size = packet_size_field(bytes);
  auto encoded = nhrp::encode(*decoded);
  line.roundtrip = encoded && encoded->size() == size && std::equal(encoded->begin(), encoded->end(), bytes.begin());
  write_outer(json, captured);
  json.field("length", size);
  json.field("checksum", hex_u16(decoded->received_checksum));
  json.field("checksum_ok", line.checksum_ok);
  json.field("roundtrip", line.roundtrip);
  if (!encoded) json.field("encode_error", encoded.error().message());
  write_packet_fields(json, *decoded);
  line.json = json.end_object().take();
  return line;
}

int run_decode(const DecodeCommandOptions& options, std::ostream& out, std::ostream& err) {
  auto packets = capture::read_nhrp_capture(options.path);
  if (!packets) {
    err << "advpnd decode: " << packets.error() << '\n';
    return kDecodeUnreadableFile;
  }
  if (!options.write_raw_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.write_raw_dir, ec);
    if (ec) {
      err << "advpnd decode: " << options.write_raw_dir << ": " << ec.message() << '\n';
      return kDecodeUnreadableFile;
    }
  }
  std::size_t failed = 0, bad_checksum = 0, not_exact = 0;
  bool raw_ok = true;
  for (const auto& captured : *packets) {
    const DecodeLine line = decode_line(captured);
    out << line.json << '\n';
    if (!line.decoded) {
      ++failed;
    } else {
      if (!line.checksum_ok) ++bad_checksum;
      if (!line.roundtrip) ++not_exact;
    }
    if (!options.write_raw_dir.empty()) {
      raw_ok = write_raw(options.write_raw_dir, options.path, captured, err) && raw_ok;
    }
  }
  out.flush();
  err << "advpnd decode: " << options.path << ": " << packets->size() << " NHRP packet(s), " << failed
      << " not decoded, " << bad_checksum << " bad checksum(s), " << not_exact << " not re-encoded byte for byte\n";
  if (!raw_ok) return kDecodeUnreadableFile;
  return failed == 0 ? kDecodeOk : kDecodeBadPacket;
}

void add_decode_command(CLI::App& app, int& exit_status) {
  auto* decode = app.add_subcommand("decode", std::string(kDecodeDescription));
  decode->footer(std::string(kDecodeFooter));
  // Shared so that the callback, which CLI11 keeps, owns the parsed values.
  auto options = std::make_shared<DecodeCommandOptions>();
  decode
      ->add_option("FILE", options->path,
                   "pcap or pcapng capture to decode; '-' reads standard input (tcpdump -w - ... | advpnd decode -)")
      ->required();
  decode
      ->add_option("--write-raw", options->write_raw_dir,
                   "also write each NHRP packet's bytes to DIR/<capture>-frame<N>.bin")
      ->type_name("DIR");
  decode->callback([options, &exit_status] { exit_status = run_decode(*options, std::cout, std::cerr); });
}

}  // namespace advpnd::app
