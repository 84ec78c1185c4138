// Route churn while forwarding (issue #11 benchmark): in a private network
// namespace, a SpokeDataplane follows the kernel's table through a
// NetlinkRouteSource on one event loop, as the daemon does, and forwards
// bursts of 32 packets (in-memory device, a counting transport: the cost
// measured is the dataplane's and the route follower's, not a socket's).
// 10,000 routes are added with one `ip -batch` (another process, as zebra
// would), then withdrawn the same way; the program reports how long the
// table took to follow each (from the batch's start to the last event
// applied) and the forwarding rate during the churn against the rate with
// no churn.
//
//   bench_route_churn [routes=10000] [runs=5]     needs root; one JSON line per run
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/log.h"
#include "dataplane/in_memory_device.h"
#include "dataplane/spoke_dataplane.h"
#include "platform/event_loop.h"
#include "routing/netlink_routes.h"

extern char** environ;

namespace {

using namespace advpnd;
using Steady = std::chrono::steady_clock;

class CountingTransport final : public NbmaTransport {
 public:
  void set_handlers(Handlers) override {}
  Status<std::string> send(const IpAddress&, std::uint16_t, std::span<const std::byte>, std::uint8_t) override {
    ++sent;
    return {};
  }
  [[nodiscard]] const IpAddress& local_address() const override { return local_; }
  [[nodiscard]] TransportStats stats() const override { return {}; }
  std::uint64_t sent = 0;

 private:
  IpAddress local_ = IpAddress::v4(192, 0, 2, 1);
};

bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

pid_t spawn_batch(const std::string& path) {
  pid_t pid = 0;
  std::string ip = "ip", batch = "-batch", file = path;
  char* argv[] = {ip.data(), batch.data(), file.data(), nullptr};
  if (posix_spawnp(&pid, "ip", nullptr, nullptr, argv, environ) != 0) return -1;
  return pid;
}

std::vector<std::byte> packet_to(const IpAddress& destination) {
  std::vector<std::byte> p(64);
  p[0] = std::byte{0x45};
  p[3] = std::byte{64};
  p[8] = std::byte{64};
  p[9] = std::byte{17};
  const IpAddress source = IpAddress::v4(10, 0, 0, 1);
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = std::byte{source.byte(i)};
    p[16 + i] = std::byte{destination.byte(i)};
  }
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2)
    sum += (std::to_integer<std::uint32_t>(p[i]) << 8) | std::to_integer<std::uint32_t>(p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  sum = ~sum & 0xffff;
  p[10] = std::byte{static_cast<std::uint8_t>(sum >> 8)};
  p[11] = std::byte{static_cast<std::uint8_t>(sum)};
  return p;
}

struct Phase {
  double seconds = 0;
  double batch_seconds = 0;  // until `ip -batch` exited (the kernel had every change)
  std::uint64_t packets = 0;
  [[nodiscard]] double rate() const { return seconds > 0 ? static_cast<double>(packets) / seconds : 0; }
};

}  // namespace

int main(int argc, char** argv) {
  const int routes = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  log::set_level(log::Level::Error);
  if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "bench_route_churn: needs root (a private network namespace)\n");
    return 1;
  }
  if (!sh("ip link set lo up") || !sh("ip link add v0 type veth peer name v1") || !sh("ip link set v0 up") ||
      !sh("ip link set v1 up") || !sh("ip addr add 192.0.2.1/24 dev v0")) {
    std::fprintf(stderr, "bench_route_churn: cannot set up the namespace\n");
    return 1;
  }
  const std::string add_path = "/tmp/bench-route-churn-" + std::to_string(::getpid()) + ".add";
  const std::string del_path = "/tmp/bench-route-churn-" + std::to_string(::getpid()) + ".del";
  {
    std::ofstream add(add_path), del(del_path);
    for (int i = 0; i < routes; ++i) {
      const std::string prefix = "10." + std::to_string(100 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
      add << "route add " << prefix << " via 192.0.2." << (2 + i % 200) << " proto bgp\n";
      del << "route del " << prefix << " proto bgp\n";
    }
  }
  auto loop = platform::EventLoop::create();
  auto source = routing::NetlinkRouteSource::start(**loop);
  if (!source) {
    std::fprintf(stderr, "bench_route_churn: %s\n", source.error().c_str());
    return 1;
  }
  const routing::KernelRouteTable& table = (*source)->routes();
  const std::size_t baseline = table.size();

  dataplane::InMemoryDevice device("bench0", 1476);
  CountingTransport transport;
  dataplane::SpokeDataplaneConfig config;
  config.hub_nbma = IpAddress::v4(203, 0, 113, 1);
  config.routing = {&table, static_cast<std::uint32_t>(::if_nametoindex("v0"))};
  dataplane::SpokeDataplane dataplane(config, device, transport, **loop);
  // v0 plays the overlay: routes via 192.0.2.x follow that gateway's shortcut.
  dataplane.route_via_peer(shortcut::Prefix::of(IpAddress::v4(192, 0, 2, 0), 24), IpAddress::v4(198, 51, 100, 2), 0);
  std::vector<std::vector<std::byte>> burst;
  for (int i = 0; i < 32; ++i)
    burst.push_back(packet_to(IpAddress::v4(10, 100 + (i * 311 % routes) / 256, (i * 311 % routes) % 256, 1)));

  auto forward_while = [&](auto&& busy, pid_t batch = -1) {
    Phase phase;
    const auto start = Steady::now();
    const std::uint64_t before = transport.sent;
    while (busy()) {
      device.inject(burst);
      (void)(*loop)->run_nonblocking();
      int status = 0;
      if (batch > 0 && ::waitpid(batch, &status, WNOHANG) == batch) {
        phase.batch_seconds = std::chrono::duration<double>(Steady::now() - start).count();
        batch = -1;
      }
    }
    if (batch > 0) {
      int status = 0;
      ::waitpid(batch, &status, 0);
      phase.batch_seconds = std::chrono::duration<double>(Steady::now() - start).count();
    }
    phase.seconds = std::chrono::duration<double>(Steady::now() - start).count();
    phase.packets = transport.sent - before;
    return phase;
  };
  for (int run = 0; run < runs; ++run) {
    const auto quiet_end = Steady::now() + std::chrono::seconds(1);
    const Phase quiet = forward_while([&] { return Steady::now() < quiet_end; });
    const std::uint64_t overruns_before = (*source)->stats().overruns;
    const pid_t adder = spawn_batch(add_path);
    const Phase adding =
        forward_while([&] { return table.size() < baseline + static_cast<std::size_t>(routes); }, adder);
    const std::uint64_t via_route = dataplane.stats().by_kernel_route;
    const pid_t deleter = spawn_batch(del_path);
    const Phase deleting = forward_while([&] { return table.size() > baseline; }, deleter);
    std::printf(
        "{\"run\":%d,\"routes\":%d,\"add_converge_ms\":%.1f,\"add_ip_batch_ms\":%.1f,\"del_converge_ms\":%.1f,"
        "\"del_ip_batch_ms\":%.1f,\"pps_quiet\":%.0f,"
        "\"pps_adding\":%.0f,\"pps_deleting\":%.0f,\"overruns\":%llu,\"by_kernel_route\":%llu}\n",
        run, routes, adding.seconds * 1000, adding.batch_seconds * 1000, deleting.seconds * 1000,
        deleting.batch_seconds * 1000, quiet.rate(), adding.rate(), deleting.rate(),
        static_cast<unsigned long long>((*source)->stats().overruns - overruns_before),
        static_cast<unsigned long long>(via_route));
    std::fflush(stdout);
  }
  std::remove(add_path.c_str());
  std::remove(del_path.c_str());
  return 0;
}
