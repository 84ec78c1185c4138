// A trivial NHRP "hub": the upper bound the hub's registration rate is compared
// with (issue #10, Benchmark: "the same storm in a 1-vCPU user-mode-Linux guest
// against a trivial NHRP echo").
//
// One raw GRE socket (IP protocol 47) bound to the hub's NBMA address. Every
// well-formed NHRP Registration Request (RFC 2332 5.2.3) is answered at once with
// the Registration Reply the hub would send (RFC 2332 5.2.4): the request's
// bytes with the type set to Registration Reply, every CIE's code set to 0
// (Success), the empty Responder Address extension (5.3.1) filled with this
// station's CIE, the packet size and checksum fixed, sent back over GRE (the
// request's key, if any) to the request's outer source. No storage, no state,
// no holding-time policy, no authentication: byte shuffling only, read and
// written in batches (recvmmsg / sendmmsg). It deliberately does not use the
// project's codec, so that it stays a floor for any real implementation's cost.
//
// What it checks before answering (what any NHS must check, and cheap): the
// IPv4 and GRE headers (protocol 0x2001, version 0), NHRP version 1, type 3,
// every length and offset inside the datagram, and the checksum. Anything else
// is counted and dropped.
//
//   nhrp_echo [--address 127.0.0.1] [--protocol 10.0.0.1] [--holding-time 7200]
//             [--mtu 1400] [--prefix 32]
//
// On SIGTERM or SIGINT it prints one JSON line with its counters to stdout and
// exits 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kIpProtoGre = 47;
constexpr std::uint16_t kGreProtocolNhrp = 0x2001;
constexpr std::uint16_t kGreChecksumFlag = 0x8000;  // RFC 2784 2.1
constexpr std::uint16_t kGreKeyFlag = 0x2000;       // RFC 2890 2.1
constexpr std::uint16_t kGreSequenceFlag = 0x1000;  // RFC 2890 2.1
constexpr std::uint16_t kGreVersionMask = 0x0007;

// RFC 2332 5.2.0.1 fixed header offsets.
constexpr std::size_t kFixedHeaderSize = 20;
constexpr std::size_t kOffHopCount = 9;
constexpr std::size_t kOffPacketSize = 10;
constexpr std::size_t kOffChecksum = 12;
constexpr std::size_t kOffExtensionOffset = 14;
constexpr std::size_t kOffVersion = 16;
constexpr std::size_t kOffType = 17;
constexpr std::size_t kOffSrcNbmaLength = 18;
constexpr std::size_t kOffSrcNbmaSubLength = 19;
// RFC 2332 5.2.0.2 common header: src proto len, dst proto len, flags, request id.
constexpr std::size_t kCommonHeaderSize = 8;
// RFC 2332 5.2.0.1 Client Information Entry: code, prefix length, unused (2),
// MTU, holding time, client NBMA type/length, subaddress type/length,
// protocol length, preference.
constexpr std::size_t kCieHeaderSize = 12;
constexpr std::size_t kCiePrefixLength = 1;
constexpr std::size_t kCieMtu = 4;
constexpr std::size_t kCieHoldingTime = 6;
constexpr std::size_t kCieNbmaLength = 8;
constexpr std::size_t kCieNbmaSubLength = 9;
constexpr std::size_t kCieProtocolLength = 10;
constexpr std::size_t kExtensionHeaderSize = 4;
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kRegistrationRequest = 3;
constexpr std::uint8_t kRegistrationReply = 4;
constexpr std::uint8_t kReplyHopCount = 255;  // what the hub's Cisco dialect sends
constexpr std::uint16_t kExtensionTypeMask = 0x3FFF;
constexpr std::uint16_t kExtensionEnd = 0;
constexpr std::uint16_t kExtensionResponder = 3;  // 5.3.1
constexpr std::size_t kResponderCieSize = kCieHeaderSize + 4 + 4;  // IPv4 NBMA + IPv4 protocol

constexpr unsigned kBatch = 64;
constexpr std::size_t kFrameSize = 2048;

struct Options {
  in_addr address{htonl(INADDR_LOOPBACK)};
  in_addr protocol{htonl(0x0A000001)};  // 10.0.0.1
  std::uint16_t holding_time = 7200;
  std::uint16_t mtu = 1400;
  std::uint8_t prefix = 32;
};

struct Counters {
  unsigned long received = 0;
  unsigned long answered = 0;
  unsigned long not_nhrp = 0;      // other GRE payloads, GRE versions, our own replies
  unsigned long not_request = 0;   // NHRP, but not a version 1 Registration Request
  unsigned long malformed = 0;     // a length or offset outside the datagram, or no room
  unsigned long bad_checksum = 0;
  unsigned long send_errors = 0;
};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
void store16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

// RFC 1071 over the NHRP packet (RFC 2332 5.2.0.1 ar$chksum).
std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t size) {
  std::uint32_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < size; i += 2) sum += load16(data + i);
  if (i < size) sum += static_cast<std::uint32_t>(data[i]) << 8;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void put_responder_cie(std::uint8_t* out, const Options& o) {
  std::memset(out, 0, kResponderCieSize);
  out[kCiePrefixLength] = o.prefix;  // code 0 = success
  store16(out + kCieMtu, o.mtu);
  store16(out + kCieHoldingTime, o.holding_time);
  out[kCieNbmaLength] = 4;      // client NBMA address type/length: IPv4
  out[kCieProtocolLength] = 4;  // client protocol address length: IPv4
  std::memcpy(out + kCieHeaderSize, &o.address, 4);
  std::memcpy(out + kCieHeaderSize + 4, &o.protocol, 4);
}

enum class Verdict { Answer, NotRequest, Malformed, BadChecksum };

// Writes the reply's NHRP bytes for the request in `in` (size bytes) into out
// (room bytes); *written is its size.
Verdict build_reply(const std::uint8_t* in, std::size_t size, std::uint8_t* out, std::size_t room,
                    const Options& o, std::size_t* written) {
  if (size < kFixedHeaderSize + kCommonHeaderSize) return Verdict::Malformed;
  if (in[kOffVersion] != kVersion || in[kOffType] != kRegistrationRequest) return Verdict::NotRequest;
  const std::size_t packet_size = load16(in + kOffPacketSize);
  if (packet_size < kFixedHeaderSize + kCommonHeaderSize || packet_size > size) return Verdict::Malformed;
  if (internet_checksum(in, packet_size) != 0) return Verdict::BadChecksum;
  const std::size_t ext_offset = load16(in + kOffExtensionOffset);
  const std::size_t fixed_part = kFixedHeaderSize + kCommonHeaderSize + (in[kOffSrcNbmaLength] & 0x3F) +
                                 (in[kOffSrcNbmaSubLength] & 0x3F) + in[kFixedHeaderSize] +
                                 in[kFixedHeaderSize + 1];
  const std::size_t cies_end = ext_offset != 0 ? ext_offset : packet_size;
  if (fixed_part > cies_end || cies_end > packet_size || packet_size + kResponderCieSize > room) {
    return Verdict::Malformed;
  }
  std::memcpy(out, in, cies_end);
  out[kOffType] = kRegistrationReply;
  out[kOffHopCount] = kReplyHopCount;
  // Every CIE answered with code 0 (RFC 2332 5.2.4).
  for (std::size_t at = fixed_part; at < cies_end;) {
    if (at + kCieHeaderSize > cies_end) return Verdict::Malformed;
    const std::size_t cie_size = kCieHeaderSize + (in[at + kCieNbmaLength] & 0x3F) +
                                 (in[at + kCieNbmaSubLength] & 0x3F) + in[at + kCieProtocolLength];
    if (at + cie_size > cies_end) return Verdict::Malformed;
    out[at] = 0;
    at += cie_size;
  }
  // Extensions in the request's order (5.3: not reordered), the empty
  // Responder Address one filled.
  std::size_t out_at = cies_end;
  for (std::size_t at = cies_end; ext_offset != 0 && at < packet_size;) {
    if (at + kExtensionHeaderSize > packet_size) return Verdict::Malformed;
    const std::uint16_t type = load16(in + at) & kExtensionTypeMask;
    const std::size_t length = load16(in + at + 2);
    if (at + kExtensionHeaderSize + length > packet_size) return Verdict::Malformed;
    std::memcpy(out + out_at, in + at, kExtensionHeaderSize + length);
    if (type == kExtensionResponder && length == 0) {
      store16(out + out_at + 2, static_cast<std::uint16_t>(kResponderCieSize));
      put_responder_cie(out + out_at + kExtensionHeaderSize, o);
      out_at += kResponderCieSize;
    }
    out_at += kExtensionHeaderSize + length;
    at += kExtensionHeaderSize + length;
    if (type == kExtensionEnd) break;
  }
  store16(out + kOffPacketSize, static_cast<std::uint16_t>(out_at));
  store16(out + kOffChecksum, 0);
  store16(out + kOffChecksum, internet_checksum(out, out_at));
  *written = out_at;
  return Verdict::Answer;
}

std::size_t drop(unsigned long& counter) {
  ++counter;
  return 0;
}

// The GRE + NHRP reply to one received IPv4 datagram; 0 when there is none.
std::size_t answer(const std::uint8_t* ip, std::size_t size, std::uint8_t* out, const Options& o,
                   Counters& counters) {
  if (size < 20 || (ip[0] >> 4) != 4) return drop(counters.malformed);
  const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
  const std::size_t total = load16(ip + 2);
  if (ihl < 20 || total < ihl + 4 || total > size) return drop(counters.malformed);
  const std::uint8_t* gre = ip + ihl;
  const std::uint16_t gre_flags = load16(gre);
  if ((gre_flags & kGreVersionMask) != 0 || load16(gre + 2) != kGreProtocolNhrp) return drop(counters.not_nhrp);
  const bool has_key = (gre_flags & kGreKeyFlag) != 0;
  const std::size_t gre_size =
      4 + ((gre_flags & kGreChecksumFlag) ? 4 : 0) + (has_key ? 4 : 0) + ((gre_flags & kGreSequenceFlag) ? 4 : 0);
  if (ihl + gre_size > total) return drop(counters.malformed);
  // The reply's GRE header: no checksum, no sequence number, the request's key.
  const std::size_t out_gre = has_key ? 8 : 4;
  store16(out, has_key ? kGreKeyFlag : 0);
  store16(out + 2, kGreProtocolNhrp);
  if (has_key) std::memcpy(out + 4, gre + gre_size - ((gre_flags & kGreSequenceFlag) ? 8 : 4), 4);
  std::size_t nhrp_size = 0;
  switch (build_reply(gre + gre_size, total - ihl - gre_size, out + out_gre, kFrameSize - out_gre, o, &nhrp_size)) {
    case Verdict::Answer:
      return out_gre + nhrp_size;
    case Verdict::NotRequest:
      return drop(counters.not_request);
    case Verdict::Malformed:
      return drop(counters.malformed);
    case Verdict::BadChecksum:
      return drop(counters.bad_checksum);
  }
  return 0;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "nhrp_echo: %s\n(see the comment at the top of bench/nhrp_echo.cpp)\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
    const char* value = argv[++i];
    auto number = [&](unsigned long max) {
      char* end = nullptr;
      const unsigned long n = std::strtoul(value, &end, 10);
      if (*value == '\0' || *end != '\0' || n > max) usage(("bad number for " + arg).c_str());
      return n;
    };
    if (arg == "--address") {
      if (inet_pton(AF_INET, value, &o.address) != 1) usage("--address: not an IPv4 address");
    } else if (arg == "--protocol") {
      if (inet_pton(AF_INET, value, &o.protocol) != 1) usage("--protocol: not an IPv4 address");
    } else if (arg == "--holding-time") {
      o.holding_time = static_cast<std::uint16_t>(number(0xFFFF));
    } else if (arg == "--mtu") {
      o.mtu = static_cast<std::uint16_t>(number(0xFFFF));
    } else if (arg == "--prefix") {
      o.prefix = static_cast<std::uint8_t>(number(32));
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  return o;
}

int open_socket(const Options& o) {
  const int fd = ::socket(AF_INET, SOCK_RAW, kIpProtoGre);
  if (fd < 0) {
    std::perror("nhrp_echo: raw GRE socket (needs root)");
    std::exit(1);
  }
  // Bound: the kernel delivers only datagrams to our address, so our own
  // replies (to the spokes' addresses, also local on loopback) stay out.
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = o.address;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    std::perror("nhrp_echo: bind");
    std::exit(1);
  }
  const int buffer = 16 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  return fd;
}

void send_all(int fd, mmsghdr* messages, unsigned count, Counters& counters) {
  for (unsigned sent = 0; sent < count;) {
    const int n = ::sendmmsg(fd, messages + sent, count - sent, 0);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
      counters.answered += static_cast<unsigned>(n);
    } else if (n < 0 && errno == EINTR) {
      if (g_stop) return;
    } else {
      // ENOBUFS and friends: drop this one (the spoke retransmits), go on.
      ++counters.send_errors;
      ++sent;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int fd = open_socket(o);
  struct sigaction action {};
  action.sa_handler = on_signal;  // no SA_RESTART: recvmmsg returns EINTR
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  static std::uint8_t in[kBatch][kFrameSize];
  static std::uint8_t out[kBatch][kFrameSize];
  static iovec in_iov[kBatch], out_iov[kBatch];
  static sockaddr_in from[kBatch];
  static mmsghdr in_msgs[kBatch], out_msgs[kBatch];
  for (unsigned i = 0; i < kBatch; ++i) {
    in_iov[i] = {in[i], kFrameSize};
    in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
    in_msgs[i].msg_hdr.msg_iovlen = 1;
    in_msgs[i].msg_hdr.msg_name = &from[i];
    out_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  Counters counters;
  std::fprintf(stderr, "nhrp_echo: answering on %s\n", inet_ntoa(o.address));
  while (!g_stop) {
    for (unsigned i = 0; i < kBatch; ++i) in_msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    // Blocks for the first datagram, then takes what is queued (MSG_WAITFORONE).
    const int n = ::recvmmsg(fd, in_msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("nhrp_echo: recvmmsg");
      return 1;
    }
    unsigned replies = 0;
    for (int i = 0; i < n; ++i) {
      ++counters.received;
      const std::size_t size = answer(in[i], in_msgs[i].msg_len, out[replies], o, counters);
      if (size == 0) continue;
      out_iov[replies] = {out[replies], size};
      out_msgs[replies].msg_hdr.msg_iov = &out_iov[replies];
      // Back to the outer source (the spoke's NBMA address, or its NAT's).
      out_msgs[replies].msg_hdr.msg_name = &from[i];
      out_msgs[replies].msg_hdr.msg_namelen = sizeof from[i];
      ++replies;
    }
    send_all(fd, out_msgs, replies, counters);
  }
  std::printf(
      "{\"received\": %lu, \"answered\": %lu, \"not_nhrp\": %lu, \"not_request\": %lu, \"malformed\": %lu, "
      "\"bad_checksum\": %lu, \"send_errors\": %lu}\n",
      counters.received, counters.answered, counters.not_nhrp, counters.not_request, counters.malformed,
      counters.bad_checksum, counters.send_errors);
  ::close(fd);
  return 0;
}
