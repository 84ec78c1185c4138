// Load generator for the hub (issue: "N spokes over real raw GRE sockets on
// loopback, all registering at once, then resolving").
//
// Every simulated spoke has its own NBMA address in 127.0.0.0/8 (sent with
// IP_HDRINCL from one raw GRE socket) and its own overlay address. Phase 1
// registers all of them with a bounded window of outstanding requests
// (retransmitting with the same request ID after a timeout, like a real
// spoke) and measures the time until every one is acknowledged. Phase 2
// sends Resolution Requests for registered spokes at a fixed rate and
// measures their latency. It prints one JSON object with the figures.
//
//   hub_load --hub-nbma 127.0.0.1 --hub-protocol 10.0.0.1 --spokes 100000
//            --resolutions 250000 --rate 50000 [--key 42] [--hub-pid PID]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "nhrp/gre.h"
#include "base/ipv4_header.h"

namespace {

using advpnd::IpAddress;
using Clock = std::chrono::steady_clock;
namespace nhrp = advpnd::nhrp;

struct Options {
  IpAddress hub_nbma = IpAddress::v4(127, 0, 0, 1);
  IpAddress hub_protocol = IpAddress::v4(10, 0, 0, 1);
  std::uint32_t spoke_nbma_base = IpAddress::v4(127, 16, 0, 0).v4_value();
  std::uint32_t spoke_protocol_base = IpAddress::v4(10, 64, 0, 0).v4_value();
  std::size_t spokes = 1000;
  std::size_t window = 4096;
  std::size_t resolutions = 0;
  double rate = 50000;
  std::optional<std::uint32_t> key;
  long hub_pid = 0;
  double timeout_s = 60;
  double retransmit_s = 1.0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "hub_load: %s\n(see the comment at the top of bench/hub_load.cpp)\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    auto address = [&]() {
      auto parsed = IpAddress::parse(next());
      if (!parsed || parsed->family() != advpnd::AddressFamily::Ipv4) usage("not an IPv4 address");
      return *parsed;
    };
    if (arg == "--hub-nbma") o.hub_nbma = address();
    else if (arg == "--hub-protocol") o.hub_protocol = address();
    else if (arg == "--spoke-nbma-base") o.spoke_nbma_base = address().v4_value();
    else if (arg == "--spokes") o.spokes = std::stoul(next());
    else if (arg == "--window") o.window = std::stoul(next());
    else if (arg == "--resolutions") o.resolutions = std::stoul(next());
    else if (arg == "--rate") o.rate = std::stod(next());
    else if (arg == "--key") o.key = static_cast<std::uint32_t>(std::stoul(next()));
    else if (arg == "--hub-pid") o.hub_pid = std::stol(next());
    else if (arg == "--timeout") o.timeout_s = std::stod(next());
    else usage(("unknown option " + arg).c_str());
  }
  if (o.spokes == 0 || o.spokes > (1u << 20)) usage("--spokes must be 1..1048576");
  return o;
}

std::uint16_t ip_checksum(const std::uint8_t* data, std::size_t size) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < size; i += 2) sum += (std::uint32_t{data[i]} << 8) | data[i + 1];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

class Wire {
 public:
  explicit Wire(const Options& o) : options_(o) {
    fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_GRE);
    if (fd_ < 0) {
      std::perror("hub_load: raw GRE socket (needs root)");
      std::exit(1);
    }
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_IP, IP_HDRINCL, &on, sizeof on);
    const int buffer = 16 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  }
  ~Wire() { ::close(fd_); }

  // One IPv4 + GRE + NHRP datagram from `source` to the hub.
  bool send(std::uint32_t source, const nhrp::Packet& packet) {
    std::uint8_t frame[2048];
    const std::size_t gre_size = options_.key ? 8 : 4;
    auto nhrp_bytes = std::as_writable_bytes(std::span<std::uint8_t>(frame + 20 + gre_size, sizeof frame - 20 - gre_size));
    auto written = nhrp::encode(packet, nhrp_bytes);
    if (!written) return false;
    nhrp::GreHeader gre;
    gre.protocol = nhrp::kGreProtocolNhrp;
    gre.key = options_.key;
    nhrp::encode_gre_header(gre, std::as_writable_bytes(std::span<std::uint8_t>(frame + 20, gre_size)));
    const std::size_t total = 20 + gre_size + *written;
    std::memset(frame, 0, 20);
    frame[0] = 0x45;
    frame[1] = 0xC0;
    frame[2] = static_cast<std::uint8_t>(total >> 8);
    frame[3] = static_cast<std::uint8_t>(total);
    frame[8] = 255;
    frame[9] = IPPROTO_GRE;
    const std::uint32_t src = htonl(source);
    std::memcpy(frame + 12, &src, 4);
    const std::uint32_t dst = htonl(options_.hub_nbma.v4_value());
    std::memcpy(frame + 16, &dst, 4);
    const std::uint16_t sum = ip_checksum(frame, 20);
    frame[10] = static_cast<std::uint8_t>(sum >> 8);
    frame[11] = static_cast<std::uint8_t>(sum);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = dst;
    for (;;) {
      const ssize_t n = ::sendto(fd_, frame, total, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);  // NOLINT
      if (n >= 0) return true;
      if (errno == ENOBUFS || errno == EAGAIN) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 1);
        continue;
      }
      return false;
    }
  }

  // Calls on_packet(decoded) for each NHRP packet from the hub; false when nothing was read.
  template <class F>
  bool receive(F&& on_packet) {
    bool any = false;
    for (int round = 0; round < 64; ++round) {
      std::uint8_t buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      any = true;
      auto ip = advpnd::parse_ipv4_packet(
          std::as_bytes(std::span<const std::uint8_t>(buffer, static_cast<std::size_t>(n))));
      if (!ip || ip->header.source != options_.hub_nbma) continue;  // our own requests echo on loopback
      auto gre = nhrp::decode_gre(ip->payload);
      if (!gre || gre->header.protocol != nhrp::kGreProtocolNhrp) continue;
      if (nhrp::decode_into(gre->payload, scratch_).ok()) on_packet(scratch_);
    }
    return any;
  }

  void wait(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, timeout_ms);
  }

 private:
  const Options& options_;
  int fd_ = -1;
  nhrp::Packet scratch_;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  return samples[index];
}

long peak_rss_kib(long pid) {
  if (pid <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

nhrp::Sender spoke(const Options& o, std::size_t index) {
  return nhrp::Sender{IpAddress::v4(o.spoke_nbma_base + static_cast<std::uint32_t>(index) + 1),
                      IpAddress::v4(o.spoke_protocol_base + static_cast<std::uint32_t>(index) + 1),
                      nhrp::Dialect::Cisco, std::nullopt};
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Wire wire(o);

  // Phase 1: every spoke registers; request ID = index + 1, reused on retransmission.
  std::vector<Clock::time_point> first_sent(o.spokes);
  std::vector<Clock::time_point> last_sent(o.spokes);
  std::vector<char> acked(o.spokes, 0);
  std::vector<double> ack_latency_ms;
  ack_latency_ms.reserve(o.spokes);
  std::size_t next = 0, outstanding = 0, done = 0, refused = 0, retransmits = 0;
  const auto start = Clock::now();
  auto registration = [&](std::size_t i) {
    nhrp::RegistrationRequestSpec spec;
    spec.sender = spoke(o, i);
    spec.nhs_protocol = o.hub_protocol;
    spec.nhs_nbma = o.hub_nbma;
    spec.request_id = static_cast<std::uint32_t>(i + 1);
    spec.holding_time = 7200;
    return nhrp::build_registration_request(spec);
  };
  std::size_t scan = 0;
  while (done < o.spokes && seconds_since(start) < o.timeout_s) {
    while (next < o.spokes && outstanding < o.window) {
      first_sent[next] = last_sent[next] = Clock::now();
      if (wire.send(o.spoke_nbma_base + static_cast<std::uint32_t>(next) + 1, registration(next))) ++outstanding;
      ++next;
    }
    wire.receive([&](const nhrp::Packet& p) {
      if (p.type != nhrp::PacketType::RegistrationReply || p.request_id == 0 || p.request_id > o.spokes) return;
      const std::size_t i = p.request_id - 1;
      if (acked[i]) return;
      if (p.cies.empty() || p.cies[0].code != nhrp::CieCode::Success) {
        ++refused;
        return;  // retransmitted after the timeout, like a real spoke
      }
      acked[i] = 1;
      ++done;
      --outstanding;
      ack_latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - first_sent[i]).count());
    });
    // Retransmit what has waited longer than the timeout (a slice per turn).
    const auto now = Clock::now();
    for (std::size_t k = 0; k < 256 && next > 0; ++k, scan = (scan + 1) % next) {
      if (!acked[scan] && now - last_sent[scan] > std::chrono::duration<double>(o.retransmit_s)) {
        last_sent[scan] = now;
        wire.send(o.spoke_nbma_base + static_cast<std::uint32_t>(scan) + 1, registration(scan));
        ++retransmits;
      }
    }
    if (next >= o.spokes || outstanding >= o.window) wire.wait(1);
  }
  const double register_s = seconds_since(start);

  // Phase 2: resolutions at a fixed rate, for random registered spokes.
  std::vector<double> resolution_ms;
  std::size_t answered = 0, naks = 0;
  double resolve_s = 0;
  if (o.resolutions > 0 && done == o.spokes) {
    std::mt19937 random(42);
    std::vector<Clock::time_point> sent_at(o.resolutions);
    resolution_ms.reserve(o.resolutions);
    const auto phase = Clock::now();
    std::size_t sent = 0;
    while ((answered + naks < o.resolutions) && seconds_since(phase) < o.timeout_s) {
      const auto due = static_cast<std::size_t>(seconds_since(phase) * o.rate);
      while (sent < o.resolutions && sent < due) {
        const std::size_t from = random() % o.spokes;
        const std::size_t target = random() % o.spokes;
        nhrp::ResolutionRequestSpec spec;
        spec.sender = spoke(o, from);
        spec.target = spoke(o, target).protocol;
        spec.request_id = static_cast<std::uint32_t>(0x80000000u + sent);
        sent_at[sent] = Clock::now();
        wire.send(o.spoke_nbma_base + static_cast<std::uint32_t>(from) + 1, nhrp::build_resolution_request(spec));
        ++sent;
      }
      const bool got = wire.receive([&](const nhrp::Packet& p) {
        if (p.type != nhrp::PacketType::ResolutionReply || p.request_id < 0x80000000u) return;
        const std::size_t i = p.request_id - 0x80000000u;
        if (i >= sent) return;
        if (p.cies.empty() || p.cies[0].code != nhrp::CieCode::Success) {
          ++naks;
          return;
        }
        ++answered;
        resolution_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent_at[i]).count());
      });
      if (!got && sent >= due) wire.wait(0);
    }
    resolve_s = seconds_since(phase);
  }

  std::printf(
      "{\"spokes\": %zu, \"acknowledged\": %zu, \"refused_replies\": %zu, \"retransmits\": %zu, "
      "\"all_acknowledged_s\": %.3f, \"acks_per_s\": %.0f, \"ack_p50_ms\": %.2f, \"ack_p99_ms\": %.2f, "
      "\"resolutions\": %zu, \"resolution_naks\": %zu, \"resolution_rate_target\": %.0f, "
      "\"resolutions_per_s\": %.0f, \"resolution_p50_ms\": %.3f, \"resolution_p99_ms\": %.3f, "
      "\"hub_peak_rss_mib\": %.1f}\n",
      o.spokes, done, refused, retransmits, register_s, static_cast<double>(done) / register_s,
      percentile(ack_latency_ms, 0.50), percentile(ack_latency_ms, 0.99), answered, naks, o.rate,
      resolve_s > 0 ? static_cast<double>(answered) / resolve_s : 0.0, percentile(resolution_ms, 0.50),
      percentile(resolution_ms, 0.99), static_cast<double>(peak_rss_kib(o.hub_pid)) / 1024.0);
  return done == o.spokes && answered + naks >= o.resolutions ? 0 : 1;
}
