// One spoke's user-space dataplane as a process, for the throughput
// benchmark (bench/run-dataplane-bench.sh): a TUN device, a raw GRE socket
// and a SpokeDataplane on one event loop, with static shortcut routes and
// no NHRP. It runs until SIGTERM or SIGINT, then prints one JSON line with
// its counters and the CPU time it used (getrusage), so the script can
// report the dataplane's CPU% next to iperf3's Gbit/s.
//
//   bench_dataplane --tun dp1 --address 10.0.0.1/24 --local 192.0.2.1 --hub 192.0.2.254
//                   --route 10.0.0.2/32=192.0.2.2 [--mtu 1476] [--key 42] [--burst 32]
//                   [--receive-batch 64]
//
// Needs root (CAP_NET_ADMIN for the TUN, CAP_NET_RAW for the GRE socket);
// run it inside the namespace it serves (ip netns exec NS ...).
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.h"
#include "dataplane/spoke_dataplane.h"
#include "dataplane/tun_device.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"

namespace {

using namespace advpnd;
using namespace advpnd::dataplane;

struct RouteArg {
  shortcut::Prefix prefix;
  IpAddress peer;
};

struct Options {
  TunConfig tun;
  platform::RawGreConfig gre;
  IpAddress hub;
  std::vector<RouteArg> routes;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "bench_dataplane: %s\nusage: bench_dataplane --tun NAME --address A/LEN --local NBMA --hub NBMA "
               "[--route PREFIX/LEN=NBMA]... [--mtu N] [--key K] [--burst N] [--receive-batch N]\n",
               problem.c_str());
  std::exit(2);
}

std::optional<std::pair<IpAddress, std::uint8_t>> parse_prefix(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = IpAddress::parse(text.substr(0, slash));
  const int length = std::atoi(std::string(text.substr(slash + 1)).c_str());
  if (!address || length < 0 || length > 32) return std::nullopt;
  return std::make_pair(*address, static_cast<std::uint8_t>(length));
}

IpAddress parse_address(std::string_view text) {
  auto address = IpAddress::parse(text);
  if (!address) usage("bad address '" + std::string(text) + "'");
  return *address;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("missing value after " + std::string(flag));
    const std::string_view value = argv[++i];
    if (flag == "--tun") {
      options.tun.name = value;
    } else if (flag == "--address") {
      auto prefix = parse_prefix(value);
      if (!prefix) usage("bad --address " + std::string(value));
      options.tun.address = prefix->first;
      options.tun.prefix_length = prefix->second;
    } else if (flag == "--local") {
      options.gre.local = parse_address(value);
    } else if (flag == "--hub") {
      options.hub = parse_address(value);
    } else if (flag == "--mtu") {
      options.tun.mtu = static_cast<std::uint16_t>(std::atoi(std::string(value).c_str()));
    } else if (flag == "--key") {
      options.gre.gre_key = static_cast<std::uint32_t>(std::strtoul(std::string(value).c_str(), nullptr, 10));
    } else if (flag == "--burst") {
      options.tun.burst = static_cast<std::size_t>(std::atoi(std::string(value).c_str()));
    } else if (flag == "--receive-batch") {
      options.gre.receive_batch = static_cast<std::size_t>(std::atoi(std::string(value).c_str()));
    } else if (flag == "--route") {
      const auto equals = value.find('=');
      if (equals == std::string_view::npos) usage("bad --route " + std::string(value));
      auto prefix = parse_prefix(value.substr(0, equals));
      if (!prefix) usage("bad --route prefix " + std::string(value));
      options.routes.push_back(
          {shortcut::Prefix::of(prefix->first, prefix->second), parse_address(value.substr(equals + 1))});
    } else {
      usage("unknown option " + std::string(flag));
    }
  }
  if (options.tun.address.empty() || options.gre.local.empty()) usage("--address and --local are required");
  return options;
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  log::set_level(log::Level::Warning);
  auto loop = platform::EventLoop::create();
  if (!loop) usage(loop.error());
  auto tun = TunDevice::open(**loop, options.tun);
  if (!tun) usage(tun.error());
  auto transport = platform::RawGreTransport::open(**loop, options.gre);
  if (!transport) usage(transport.error());

  SpokeDataplaneConfig config;
  config.hub_nbma = options.hub;
  config.gre_key = options.gre.gre_key.has_value();
  SpokeDataplane dataplane(config, **tun, **transport, **loop);
  (*transport)->set_handlers({[&](const NbmaFrame& frame) { dataplane.on_frame(frame); }, {}});
  for (const RouteArg& route : options.routes) dataplane.route_via_peer(route.prefix, route.peer, 0);

  auto stop = [&](int) { (*loop)->stop(); };
  auto term = (*loop)->watch_signal(SIGTERM, stop);
  auto interrupt = (*loop)->watch_signal(SIGINT, stop);
  if (!term || !interrupt) usage("cannot watch signals");
  std::fprintf(stderr, "bench_dataplane: %s ready\n", (*tun)->name().c_str());
  if (auto ran = (*loop)->run(); !ran) usage(ran.error());

  const SpokeDataplaneStats& stats = dataplane.stats();
  const TransportStats gre = (*transport)->stats();
  std::printf(
      "{\"device\":\"%s\",\"cpu_seconds\":%.3f,\"to_peers\":%llu,\"to_hub\":%llu,\"from_nbma\":%llu,"
      "\"bursts\":%llu,\"drops\":%llu,\"tun_read\":%llu,\"gre_received\":%llu,\"gre_sent\":%llu,"
      "\"gre_send_errors\":%llu}\n",
      (*tun)->name().c_str(), cpu_seconds(), static_cast<unsigned long long>(stats.packets_to_peers),
      static_cast<unsigned long long>(stats.packets_to_hub), static_cast<unsigned long long>(stats.packets_from_nbma),
      static_cast<unsigned long long>(stats.bursts), static_cast<unsigned long long>(stats.drops.total()),
      static_cast<unsigned long long>((*tun)->packets_read()), static_cast<unsigned long long>(gre.frames_received),
      static_cast<unsigned long long>(gre.frames_sent), static_cast<unsigned long long>(gre.send_errors));
  return 0;
}
