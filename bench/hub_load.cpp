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
// With --data-rate (issue #10: "the hub's forwarding rate during a 100k
// storm"), two more spokes register first, and one sends overlay data frames
// (GRE 0x0800, inner IPv4/UDP carrying a sequence number and its send time)
// to the other through the hub at that rate: for --data-baseline seconds
// with nothing else going on, then throughout the registration storm. The
// hub hair-pins each frame to the receiver's NBMA, where this generator
// reads it back: frames forwarded per second, loss and one-way latency are
// reported for both periods.
//
//   hub_load --hub-nbma 127.0.0.1 --hub-protocol 10.0.0.1 --spokes 100000
//            --resolutions 250000 --rate 50000 [--key 42] [--hub-pid PID]
//            [--data-rate 20000 --data-baseline 3 --data-size 200]
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
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
  double data_rate = 0;        // overlay data frames per second; 0: none
  double data_baseline_s = 3;  // data alone before the storm
  std::size_t data_size = 200; // inner IPv4 packet size (a voice frame is ~200)
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
    else if (arg == "--data-rate") o.data_rate = std::stod(next());
    else if (arg == "--data-baseline") o.data_baseline_s = std::stod(next());
    else if (arg == "--data-size") o.data_size = std::stoul(next());
    else usage(("unknown option " + arg).c_str());
  }
  if (o.spokes == 0 || o.spokes > (1u << 20)) usage("--spokes must be 1..1048576");
  if (o.data_size < 20 + 8 + 16 || o.data_size > 1400) usage("--data-size must be 44..1400");
  if (o.data_rate < 0 || o.data_baseline_s < 0) usage("--data-rate and --data-baseline must be >= 0");
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
    if (o.data_rate > 0) {
      // The data frames the hub forwards are read from a socket of their own,
      // before the NHRP replies (a FIFO shared with thousands of replies would
      // measure this generator's queue, not the hub's forwarding).
      attach_gre_protocol_filter(fd_, nhrp::kGreProtocolNhrp);
      data_fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_GRE);
      if (data_fd_ < 0) {
        std::perror("hub_load: raw GRE socket for data");
        std::exit(1);
      }
      ::setsockopt(data_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
      attach_gre_protocol_filter(data_fd_, kGreProtocolIpv4);
    }
  }
  ~Wire() {
    ::close(fd_);
    if (data_fd_ >= 0) ::close(data_fd_);
  }

  // Only GRE frames of `protocol` reach `fd` (classic BPF over the outer IPv4
  // header: X = its length, the GRE protocol at X + 2).
  static void attach_gre_protocol_filter(int fd, std::uint16_t protocol) {
    sock_filter code[] = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, protocol, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xFFFFFFFF),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) {
      std::perror("hub_load: SO_ATTACH_FILTER");
      std::exit(1);
    }
  }

  // One IPv4 + GRE + NHRP datagram from `source` to the hub.
  bool send(std::uint32_t source, const nhrp::Packet& packet) {
    std::uint8_t nhrp_frame[2048];
    auto written = nhrp::encode(packet, std::as_writable_bytes(std::span<std::uint8_t>(nhrp_frame)));
    if (!written) return false;
    return send_gre(source, nhrp::kGreProtocolNhrp, std::span<const std::uint8_t>(nhrp_frame, *written));
  }

  // One overlay data frame (GRE protocol 0x0800 around `inner`) from `source` to the hub.
  bool send_data(std::uint32_t source, std::span<const std::uint8_t> inner) {
    return send_gre(source, kGreProtocolIpv4, inner);
  }

  // Calls on_packet(decoded) for each NHRP packet from the hub and
  // on_data(outer destination, inner packet) for each data frame it
  // forwarded; false when nothing was read.
  template <class F, class D>
  bool receive(F&& on_packet, D&& on_data) {
    bool any = false;
    for (int round = 0; data_fd_ >= 0 && round < 4096; ++round) {
      std::uint8_t buffer[4096];
      const ssize_t n = ::recv(data_fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      any = true;
      auto ip = advpnd::parse_ipv4_packet(
          std::as_bytes(std::span<const std::uint8_t>(buffer, static_cast<std::size_t>(n))));
      if (!ip || ip->header.source != options_.hub_nbma) continue;  // our own frames to the hub
      auto gre = nhrp::decode_gre(ip->payload);
      if (gre && gre->header.protocol == kGreProtocolIpv4) on_data(ip->header.destination, gre->payload);
    }
    for (int round = 0; round < 64; ++round) {
      std::uint8_t buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      any = true;
      auto ip = advpnd::parse_ipv4_packet(
          std::as_bytes(std::span<const std::uint8_t>(buffer, static_cast<std::size_t>(n))));
      if (!ip || ip->header.source != options_.hub_nbma) continue;  // our own requests echo on loopback
      auto gre = nhrp::decode_gre(ip->payload);
      if (!gre) continue;
      if (gre->header.protocol == kGreProtocolIpv4) {
        on_data(ip->header.destination, gre->payload);
      } else if (gre->header.protocol == nhrp::kGreProtocolNhrp && nhrp::decode_into(gre->payload, scratch_).ok()) {
        on_packet(scratch_);
      }
    }
    return any;
  }
  template <class F>
  bool receive(F&& on_packet) {
    return receive(std::forward<F>(on_packet), [](const IpAddress&, std::span<const std::byte>) {});
  }

  void wait(int timeout_ms) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {data_fd_, POLLIN, 0}};
    ::poll(p, data_fd_ >= 0 ? 2 : 1, timeout_ms);
  }

 private:
  static constexpr std::uint16_t kGreProtocolIpv4 = 0x0800;

  bool send_gre(std::uint32_t source, std::uint16_t protocol, std::span<const std::uint8_t> payload) {
    std::uint8_t frame[2048];
    const std::size_t gre_size = options_.key ? 8 : 4;
    if (20 + gre_size + payload.size() > sizeof frame) return false;
    nhrp::GreHeader gre;
    gre.protocol = protocol;
    gre.key = options_.key;
    nhrp::encode_gre_header(gre, std::as_writable_bytes(std::span<std::uint8_t>(frame + 20, gre_size)));
    std::memcpy(frame + 20 + gre_size, payload.data(), payload.size());
    const std::size_t total = 20 + gre_size + payload.size();
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

  const Options& options_;
  int fd_ = -1;
  int data_fd_ = -1;  // --data-rate: the forwarded data frames
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


// The overlay data flow of --data-rate: spoke "data sender" -> hub -> spoke
// "data receiver", one frame every 1/rate s, each carrying its sequence
// number and send time so that loss and latency are per period.
class DataFlow {
 public:
  struct Period {
    std::uint64_t first_sequence = 0;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    double seconds = 0;
    std::vector<double> latency_ms;
  };

  DataFlow(const Options& o, Wire& wire, nhrp::Sender sender, nhrp::Sender receiver)
      : options_(o), wire_(wire), sender_(sender), receiver_(receiver) {
    // IPv4 (RFC 791) + UDP (RFC 768, checksum 0: none) + sequence + send time.
    packet_[0] = 0x45;
    packet_[1] = 0xB8;  // DSCP EF, as voice
    packet_[2] = static_cast<std::uint8_t>(o.data_size >> 8);
    packet_[3] = static_cast<std::uint8_t>(o.data_size);
    packet_[8] = 64;
    packet_[9] = IPPROTO_UDP;
    const std::uint32_t src = htonl(sender.protocol.v4_value());
    const std::uint32_t dst = htonl(receiver.protocol.v4_value());
    std::memcpy(&packet_[12], &src, 4);
    std::memcpy(&packet_[16], &dst, 4);
    const std::uint16_t sum = ip_checksum(packet_.data(), 20);
    packet_[10] = static_cast<std::uint8_t>(sum >> 8);
    packet_[11] = static_cast<std::uint8_t>(sum);
    packet_[20] = 0x9C;  // ports 40000 -> 40000
    packet_[21] = 0x40;
    packet_[22] = 0x9C;
    packet_[23] = 0x40;
    const std::size_t udp_size = o.data_size - 20;
    packet_[24] = static_cast<std::uint8_t>(udp_size >> 8);
    packet_[25] = static_cast<std::uint8_t>(udp_size);
  }

  bool enabled() const { return options_.data_rate > 0; }

  // Starts a period: what is sent from now on counts toward it.
  void begin(Period& period) {
    end_current();
    current_ = &period;
    period.first_sequence = sequence_;
    started_ = Clock::now();
    sent_in_period_ = 0;
  }
  void end_current() {
    if (current_ != nullptr) current_->seconds = seconds_since(started_);
    current_ = nullptr;
  }

  // Sends what is due at the configured rate.
  void pump() {
    if (current_ == nullptr || !enabled()) return;
    const auto due = static_cast<std::uint64_t>(seconds_since(started_) * options_.data_rate);
    while (sent_in_period_ < due) {
      const std::uint64_t now_ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
      std::memcpy(&packet_[28], &sequence_, 8);
      std::memcpy(&packet_[36], &now_ns, 8);
      if (wire_.send_data(sender_.nbma.v4_value(), std::span<const std::uint8_t>(packet_.data(), options_.data_size))) {
        ++current_->sent;
      }
      ++sequence_;
      ++sent_in_period_;
    }
  }

  // A data frame the hub forwarded (outer destination, inner packet).
  void on_data(const IpAddress& destination, std::span<const std::byte> inner, Period& early, Period& late) {
    if (destination != receiver_.nbma || inner.size() < 44) return;
    std::uint64_t sequence = 0, sent_ns = 0;
    std::memcpy(&sequence, inner.data() + 28, 8);
    std::memcpy(&sent_ns, inner.data() + 36, 8);
    Period& period = sequence >= late.first_sequence && late.sent > 0 ? late : early;
    ++period.received;
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    period.latency_ms.push_back(static_cast<double>(static_cast<std::uint64_t>(now_ns) - sent_ns) / 1e6);
  }

 private:
  const Options& options_;
  Wire& wire_;
  nhrp::Sender sender_;
  nhrp::Sender receiver_;
  std::array<std::uint8_t, 1400> packet_{};  // --data-size of it is sent
  std::uint64_t sequence_ = 0;
  std::uint64_t sent_in_period_ = 0;
  Period* current_ = nullptr;
  Clock::time_point started_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Wire wire(o);

  // Phase 0 (--data-rate): the two data spokes register (numbered after the
  // storm's), then the data flows alone for the baseline period.
  DataFlow flow(o, wire, spoke(o, o.spokes), spoke(o, o.spokes + 1));
  DataFlow::Period baseline, during_storm;
  auto on_data = [&](const IpAddress& destination, std::span<const std::byte> inner) {
    flow.on_data(destination, inner, baseline, during_storm);
  };
  if (flow.enabled()) {
    constexpr std::uint32_t kDataSpokeRequestId = 0x70000000u;
    int registered = 0;
    const auto phase = Clock::now();
    for (int attempt = 0; registered < 2 && seconds_since(phase) < 10; ++attempt) {
      registered = 0;
      for (std::size_t k = 0; k < 2; ++k) {
        nhrp::RegistrationRequestSpec spec;
        spec.sender = spoke(o, o.spokes + k);
        spec.nhs_protocol = o.hub_protocol;
        spec.nhs_nbma = o.hub_nbma;
        spec.request_id = kDataSpokeRequestId + static_cast<std::uint32_t>(k);
        spec.holding_time = 7200;
        wire.send(spec.sender.nbma.v4_value(), nhrp::build_registration_request(spec));
      }
      const auto sent = Clock::now();
      while (registered < 2 && seconds_since(sent) < 1) {
        wire.receive([&](const nhrp::Packet& p) {
          if (p.type == nhrp::PacketType::RegistrationReply && !p.cies.empty() &&
              p.cies[0].code == nhrp::CieCode::Success &&
              (p.request_id == kDataSpokeRequestId || p.request_id == kDataSpokeRequestId + 1)) {
            ++registered;
          }
        });
        wire.wait(10);
      }
    }
    if (registered < 2) {
      std::fprintf(stderr, "hub_load: the two data spokes were not acknowledged\n");
      return 1;
    }
    flow.begin(baseline);
    for (;;) {
      flow.pump();
      wire.receive([](const nhrp::Packet&) {}, on_data);
      if (static_cast<double>(baseline.sent) >= o.data_rate * o.data_baseline_s) break;
      wire.wait(0);
    }
  }

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
  if (flow.enabled()) flow.begin(during_storm);
  while (done < o.spokes && seconds_since(start) < o.timeout_s) {
    flow.pump();
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
    }, on_data);
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
  if (flow.enabled()) {
    // What the hub still holds arrives within a moment; later is lost.
    flow.end_current();
    const auto drain = Clock::now();
    while (seconds_since(drain) < 0.5) {
      wire.receive([](const nhrp::Packet&) {}, on_data);
      wire.wait(10);
    }
  }

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
      "\"hub_peak_rss_mib\": %.1f",
      o.spokes, done, refused, retransmits, register_s, static_cast<double>(done) / register_s,
      percentile(ack_latency_ms, 0.50), percentile(ack_latency_ms, 0.99), answered, naks, o.rate,
      resolve_s > 0 ? static_cast<double>(answered) / resolve_s : 0.0, percentile(resolution_ms, 0.50),
      percentile(resolution_ms, 0.99), static_cast<double>(peak_rss_kib(o.hub_pid)) / 1024.0);
  if (flow.enabled()) {
    auto print_period = [&](const char* name, const DataFlow::Period& period) {
      std::printf(
          ", \"%s\": {\"seconds\": %.3f, \"sent\": %llu, \"forwarded\": %llu, \"lost\": %llu, "
          "\"sent_per_s\": %.0f, \"forwarded_per_s\": %.0f, \"latency_p50_ms\": %.3f, \"latency_p99_ms\": %.3f, "
          "\"latency_max_ms\": %.3f}",
          name, period.seconds, static_cast<unsigned long long>(period.sent),
          static_cast<unsigned long long>(period.received),
          static_cast<unsigned long long>(period.sent > period.received ? period.sent - period.received : 0),
          period.seconds > 0 ? static_cast<double>(period.sent) / period.seconds : 0.0,
          period.seconds > 0 ? static_cast<double>(period.received) / period.seconds : 0.0,
          percentile(period.latency_ms, 0.50), percentile(period.latency_ms, 0.99),
          percentile(period.latency_ms, 1.0));
    };
    std::printf(", \"data_rate_target\": %.0f, \"data_size\": %zu", o.data_rate, o.data_size);
    print_period("data_baseline", baseline);
    print_period("data_during_storm", during_storm);
  }
  std::printf("}\n");
  return done == o.spokes && answered + naks >= o.resolutions ? 0 : 1;
}
