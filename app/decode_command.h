// `advpnd decode FILE`: an operator's tool for interop debugging. Reads a
// pcap/pcapng capture (say, from a Cisco or FRR peer), decodes every NHRP
// packet in it and prints one JSON object per packet per line: the fields,
// whether the checksum verifies, and whether advpnd re-encodes the packet
// byte for byte.
#pragma once

#include <iosfwd>
#include <string>

#include "capture/capture.h"

namespace CLI {
class App;
}

namespace advpnd::app {

// Exit status of the decode command.
inline constexpr int kDecodeOk = 0;              // every NHRP packet decoded
inline constexpr int kDecodeBadPacket = 1;       // at least one packet did not decode
inline constexpr int kDecodeUnreadableFile = 2;  // the file could not be read (or --write-raw written)

// Registers the `decode` subcommand on `app`; when it runs, its exit status
// is stored in `exit_status`.
void add_decode_command(CLI::App& app, int& exit_status);

struct DecodeCommandOptions {
  std::string path;  // the capture
  // When set, each NHRP packet's bytes are also written to
  // <dir>/<capture stem>-frame<N>.bin (fuzzing seeds, hex dumps, bug reports).
  std::string write_raw_dir;
};

// The command itself: JSON lines on `out`, diagnostics and a one-line
// summary on `err`. Returns one of the kDecode* statuses.
[[nodiscard]] int run_decode(const DecodeCommandOptions& options, std::ostream& out, std::ostream& err);

// One JSON line (no newline) for one captured packet, and what it found:
// whether it decoded, its checksum verified and it re-encoded byte for byte.
struct DecodeLine {
  std::string json;
  bool decoded = false;
  bool checksum_ok = false;
  bool roundtrip = false;
};
[[nodiscard]] DecodeLine decode_line(const capture::CapturedNhrp& captured);

}  // namespace advpnd::app
