// RawGreTransport throughput on loopback: two transports in one process
// (127.0.0.2 -> 127.0.0.3), one thread, one event loop. Frames are sent in
// bursts and the loop is turned until the receiver has them all, so the
// figure covers send + kernel loopback + recvmmsg + IPv4/GRE parsing + the
// on_frame call. Two send paths: send() (one sendmsg per frame) and
// send_batch() (sendmmsg, 64 per call). Prints the median of the runs.
// Needs root; runs in a private network namespace when it can (unshare).
//
//   sudo build/default/bench/bench_raw_gre [--frames 200000] [--size 100] [--runs 5]
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"
#include "platform/unique_fd.h"

namespace {

using advpnd::IpAddress;
using advpnd::NbmaFrame;
using advpnd::NbmaTransport;
using namespace advpnd::platform;

constexpr std::size_t kBurst = 256;  // well below what the receive buffer holds
constexpr std::uint16_t kNhrp = 0x2001;

// A private namespace keeps the host's loopback out of it; lo must come up.
bool enter_private_netns() {
  if (::unshare(CLONE_NEWNET) != 0) return false;
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (!fd.valid() || ::ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) return false;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  return ::ioctl(fd.get(), SIOCSIFFLAGS, &request) == 0;
}

struct RunResult {
  double frames_per_second = 0;
  std::size_t lost = 0;
};

RunResult run_once(EventLoop& loop, RawGreTransport& sender, std::size_t& received, std::size_t frames,
                   std::size_t size, bool batched) {
  const std::vector<std::byte> payload(size, std::byte{0x5a});
  const IpAddress to = IpAddress::v4(127, 0, 0, 3);
  std::vector<OutgoingFrame> burst(kBurst, OutgoingFrame{to, kNhrp, payload, kNhrpTos});
  received = 0;
  std::size_t sent = 0;
  std::size_t lost = 0;
  const auto start = std::chrono::steady_clock::now();
  while (sent < frames) {
    const std::size_t n = std::min(kBurst, frames - sent);
    if (batched) {
      sender.send_batch(std::span(burst).first(n));
    } else {
      for (std::size_t i = 0; i < n; ++i) (void)sender.send(to, kNhrp, payload, kNhrpTos);
    }
    sent += n;
    // Turn the loop until this burst is in; a frame the kernel dropped
    // (receive buffer full) would never come, so give up after a while.
    auto last_progress = std::chrono::steady_clock::now();
    std::size_t seen = received;
    while (received + lost < sent) {
      (void)loop.run_nonblocking();
      if (received != seen) {
        seen = received;
        last_progress = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_progress > std::chrono::milliseconds(100)) {
        lost = sent - received;
      }
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return {static_cast<double>(received) / elapsed.count(), lost};
}

std::size_t arg(int argc, char** argv, const char* name, std::size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t frames = arg(argc, argv, "--frames", 200'000);
  const std::size_t size = arg(argc, argv, "--size", 100);
  const std::size_t runs = std::max<std::size_t>(arg(argc, argv, "--runs", 5), 1);
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_raw_gre: raw GRE sockets need root (CAP_NET_RAW)\n");
    return 1;
  }
  const bool isolated = enter_private_netns();
  auto loop = EventLoop::create();
  if (!loop) {
    std::fprintf(stderr, "bench_raw_gre: %s\n", loop.error().c_str());
    return 1;
  }
  auto sender = RawGreTransport::open(**loop, RawGreConfig{.local = IpAddress::v4(127, 0, 0, 2)});
  auto receiver = RawGreTransport::open(**loop, RawGreConfig{.local = IpAddress::v4(127, 0, 0, 3)});
  if (!sender || !receiver) {
    std::fprintf(stderr, "bench_raw_gre: %s\n", (!sender ? sender.error() : receiver.error()).c_str());
    return 1;
  }
  std::size_t received = 0;
  (*receiver)->set_handlers(NbmaTransport::Handlers{[&](const NbmaFrame& f) { received += !f.payload.empty(); }, {}});

  std::printf("RawGreTransport loopback 127.0.0.2 -> 127.0.0.3 (%s), %zu frames of %zu bytes, median of %zu runs\n",
              isolated ? "private netns" : "host loopback", frames, size, runs);
  for (const bool batched : {false, true}) {
    std::vector<RunResult> results;
    for (std::size_t r = 0; r < runs; ++r) {
      results.push_back(run_once(**loop, **sender, received, frames, size, batched));
    }
    std::sort(results.begin(), results.end(),
              [](const RunResult& a, const RunResult& b) { return a.frames_per_second < b.frames_per_second; });
    const RunResult& median = results[results.size() / 2];
    std::printf("  %-26s %10.0f frames/s (min %.0f, max %.0f), lost %zu\n",
                batched ? "send_batch (sendmmsg x64)" : "send (sendmsg)", median.frames_per_second,
                results.front().frames_per_second, results.back().frames_per_second, median.lost);
  }
  return 0;
}
