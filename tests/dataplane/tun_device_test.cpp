// The dataplane on real kernel objects, in a private network namespace: a
// TUN device (10.0.0.2/24) and raw GRE sockets on loopback (127.0.0.0/8;
// nothing ever leaves the namespace). Ordinary UDP sockets play the host's
// applications. Needs root: without it every case fails with a message
// saying so (tests/platform/private_netns.h).
#include "dataplane/tun_device.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "base/log.h"
#include "dataplane/ipv4_packet.h"
#include "dataplane/spoke_dataplane.h"
#include "platform/event_loop.h"
#include "platform/raw_gre_transport.h"
#include "platform/unique_fd.h"
#include "tests/dataplane/packets.h"
#include "tests/platform/private_netns.h"

namespace advpnd::dataplane {
namespace {

using namespace std::chrono_literals;
using platform::EventLoop;
using platform::RawGreConfig;
using platform::RawGreTransport;
using platform::UniqueFd;
using test::counters_of;

const IpAddress kOverlay = IpAddress::v4(10, 0, 0, 2);
const IpAddress kFarHost = IpAddress::v4(10, 0, 0, 99);
const IpAddress kSpokeNbma = IpAddress::v4(127, 0, 0, 2);
const IpAddress kHubNbma = IpAddress::v4(127, 0, 0, 3);
const IpAddress kPeerNbma = IpAddress::v4(127, 0, 0, 4);
constexpr std::uint32_t kGreKey = 42;

void require_root_netns() {
  const auto netns = advpnd::test::enter_private_netns();
  REQUIRE_MESSAGE(netns.ok, netns.message);
  const std::string why = "a TUN test must not run in the host namespace: " + netns.message;
  REQUIRE_MESSAGE(netns.isolated, why);
}

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  REQUIRE_MESSAGE(loop.ok(), loop.error());
  return std::move(loop).value();
}

// Runs the loop until `done` or 3 s.
bool run_until(EventLoop& loop, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    REQUIRE(loop.run_nonblocking().ok());
    ::usleep(1000);
  }
  return true;
}

sockaddr_in socket_address(const IpAddress& address, std::uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  out.sin_addr.s_addr = htonl(address.v4_value());
  return out;
}

const sockaddr* as_sockaddr(const sockaddr_in& address) { return reinterpret_cast<const sockaddr*>(&address); }

UniqueFd udp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  return fd;
}

// An IPv4/UDP datagram (UDP checksum 0: none, RFC 768) with a valid header checksum.
std::vector<std::byte> udp_datagram(const IpAddress& from, std::uint16_t from_port, const IpAddress& to,
                                    std::uint16_t to_port, const std::string& text) {
  std::vector<std::byte> packet(28 + text.size());
  ByteWriter w(packet);
  w.u8(0x45);
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(packet.size()));
  w.u32(0);
  w.u8(64);
  w.u8(17);
  w.u16(0);
  w.bytes(from.bytes());
  w.bytes(to.bytes());
  w.u16(from_port);
  w.u16(to_port);
  w.u16(static_cast<std::uint16_t>(8 + text.size()));
  w.u16(0);
  w.bytes(std::as_bytes(std::span<const char>(text.data(), text.size())));
  REQUIRE(w.ok());
  w.patch_u16(10, ipv4_checksum(std::span<const std::byte>(packet).first(20)));
  return packet;
}

struct Captured {
  IpAddress from;
  std::uint16_t protocol = 0;
  std::uint8_t tos = 0;
  std::vector<std::byte> payload;
};

// A spoke's dataplane on a real TUN and raw GRE socket, and a raw GRE
// socket standing for the hub that records what reaches it.
struct RealSpoke {
  RealSpoke() : loop(make_loop()) {
    TunConfig tun_config;
    tun_config.name = "advtest0";
    tun_config.address = kOverlay;
    tun_config.prefix_length = 24;
    tun_config.mtu = 1400;
    auto opened = TunDevice::open(*loop, tun_config);
    REQUIRE_MESSAGE(opened.ok(), opened.error());
    tun = std::move(opened).value();

    RawGreConfig spoke_config;
    spoke_config.local = kSpokeNbma;
    spoke_config.gre_key = kGreKey;
    auto spoke_opened = RawGreTransport::open(*loop, spoke_config);
    REQUIRE_MESSAGE(spoke_opened.ok(), spoke_opened.error());
    transport = std::move(spoke_opened).value();

    RawGreConfig hub_config = spoke_config;
    hub_config.local = kHubNbma;
    auto hub_opened = RawGreTransport::open(*loop, hub_config);
    REQUIRE_MESSAGE(hub_opened.ok(), hub_opened.error());
    hub = std::move(hub_opened).value();
    hub->set_handlers({[this](const NbmaFrame& f) {
                         captured.push_back({f.outer_source, f.gre_protocol, f.tos,
                                             std::vector<std::byte>(f.payload.begin(), f.payload.end())});
                       },
                       {}});

    SpokeDataplaneConfig config;
    config.hub_nbma = kHubNbma;
    config.gre_key = true;
    dataplane = std::make_unique<SpokeDataplane>(config, *tun, *transport, *loop);
    transport->set_handlers({[this](const NbmaFrame& f) { dataplane->on_frame(f); }, {}});
  }

  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<TunDevice> tun;
  std::unique_ptr<RawGreTransport> transport;
  std::unique_ptr<RawGreTransport> hub;
  std::unique_ptr<SpokeDataplane> dataplane;
  std::vector<Captured> captured;
};

TEST_CASE("TUN: errors are values naming the device") {
  auto loop = make_loop();
  TunConfig config;
  config.name = "a-name-far-too-long-for-linux";
  auto opened = TunDevice::open(*loop, config);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().find("a-name-far-too-long-for-linux") != std::string::npos);
}

TEST_CASE("TUN: the device exists with its address, prefix, MTU and is up, and goes away with the object") {
  require_root_netns();
  log::set_level(log::Level::Warning);
  {
    RealSpoke spoke;
    CHECK(spoke.tun->name() == "advtest0");
    UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, "advtest0", IFNAMSIZ - 1);
    REQUIRE(::ioctl(control.get(), SIOCGIFMTU, &request) == 0);
    CHECK(request.ifr_mtu == 1400);
    REQUIRE(::ioctl(control.get(), SIOCGIFFLAGS, &request) == 0);
    CHECK((request.ifr_flags & IFF_UP) != 0);
    REQUIRE(::ioctl(control.get(), SIOCGIFADDR, &request) == 0);
    sockaddr_in address{};
    std::memcpy(&address, &request.ifr_addr, sizeof address);
    CHECK(ntohl(address.sin_addr.s_addr) == kOverlay.v4_value());
    REQUIRE(::ioctl(control.get(), SIOCGIFNETMASK, &request) == 0);
    std::memcpy(&address, &request.ifr_netmask, sizeof address);
    CHECK(ntohl(address.sin_addr.s_addr) == 0xFFFFFF00U);

    // A second device of the same name is refused, with the name in the error.
    TunConfig same;
    same.name = "advtest0";
    auto again = TunDevice::open(*spoke.loop, same);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().find("advtest0") != std::string::npos);
  }
  CHECK(::if_nametoindex("advtest0") == 0);  // closing the fd removed it
  log::set_level(log::Level::Info);
}

TEST_CASE("TUN: a UDP packet from the host leaves GRE-encapsulated to the hub; a GRE frame reaches a UDP socket") {
  require_root_netns();
  log::set_level(log::Level::Warning);
  RealSpoke spoke;

  // Host -> TUN -> dataplane -> raw GRE -> "hub", DSCP EF copied outside.
  UniqueFd sender = udp_socket();
  const int tos = 0xB8;
  REQUIRE(::setsockopt(sender.get(), IPPROTO_IP, IP_TOS, &tos, sizeof tos) == 0);
  const std::string hello = "hello through the overlay";
  const sockaddr_in far = socket_address(kFarHost, 9999);
  REQUIRE(::sendto(sender.get(), hello.data(), hello.size(), 0, as_sockaddr(far), sizeof far) ==
          static_cast<ssize_t>(hello.size()));
  REQUIRE(run_until(*spoke.loop, [&] { return !spoke.captured.empty(); }));
  const Captured& frame = spoke.captured.front();
  CHECK(frame.from == kSpokeNbma);
  CHECK(frame.protocol == 0x0800);
  CHECK(frame.tos == 0xB8);
  auto inner = parse_inner_ipv4(frame.payload);
  REQUIRE(inner.ok());
  CHECK(inner->source == kOverlay);
  CHECK(inner->destination == kFarHost);
  CHECK(inner->protocol == 17);
  CHECK(inner->tos == 0xB8);
  REQUIRE(frame.payload.size() == 28 + hello.size());
  CHECK(std::memcmp(frame.payload.data() + 28, hello.data(), hello.size()) == 0);
  CHECK(counters_of(*spoke.dataplane, kHubNbma).packets_out == 1);

  // "Hub" -> raw GRE -> dataplane -> TUN -> the host's UDP socket.
  UniqueFd receiver = udp_socket();
  const sockaddr_in local = socket_address(kOverlay, 5555);
  REQUIRE(::bind(receiver.get(), as_sockaddr(local), sizeof local) == 0);
  const std::string reply = "reply from 10.0.0.99";
  const auto datagram = udp_datagram(kFarHost, 9999, kOverlay, 5555, reply);
  REQUIRE(spoke.hub->send(kSpokeNbma, 0x0800, datagram, 0).ok());
  std::string got;
  sockaddr_in from{};
  REQUIRE(run_until(*spoke.loop, [&] {
    char buffer[256];
    socklen_t from_size = sizeof from;
    const ssize_t n =
        ::recvfrom(receiver.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n > 0) got.assign(buffer, static_cast<std::size_t>(n));
    return n > 0;
  }));
  CHECK(got == reply);
  CHECK(ntohl(from.sin_addr.s_addr) == kFarHost.v4_value());
  CHECK(ntohs(from.sin_port) == 9999);
  CHECK(counters_of(*spoke.dataplane, kHubNbma).packets_in == 1);
  CHECK(spoke.dataplane->stats().drops.total() == 0);
  log::set_level(log::Level::Info);
}

TEST_CASE("TUN: a shortcut's small MTU reaches the host's PMTU cache through ICMP fragmentation needed") {
  require_root_netns();
  log::set_level(log::Level::Error);
  RealSpoke spoke;
  const IpAddress shortcut_host = IpAddress::v4(10, 0, 0, 50);
  spoke.dataplane->route_via_peer(shortcut::Prefix::host(shortcut_host), kPeerNbma, 600);  // inner 600 - 28 = 572

  UniqueFd sender = udp_socket();
  const int pmtu_do = IP_PMTUDISC_DO;  // DF on every packet
  REQUIRE(::setsockopt(sender.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu_do, sizeof pmtu_do) == 0);
  const sockaddr_in to = socket_address(shortcut_host, 9);
  REQUIRE(::connect(sender.get(), as_sockaddr(to), sizeof to) == 0);
  const std::vector<char> big(1000, 'x');
  REQUIRE(::send(sender.get(), big.data(), big.size(), 0) == 1000);  // fits the TUN's 1400

  int mtu = 0;
  REQUIRE(run_until(*spoke.loop, [&] {
    socklen_t size = sizeof mtu;
    return ::getsockopt(sender.get(), IPPROTO_IP, IP_MTU, &mtu, &size) == 0 && mtu == 572;
  }));
  CHECK(spoke.dataplane->stats().icmp_sent == 1);
  CHECK(spoke.dataplane->stats().drops[DropReason::TooBig] == 1);
  // The kernel now refuses what does not fit the learned path MTU.
  int error = 0;
  socklen_t size = sizeof error;
  (void)::getsockopt(sender.get(), SOL_SOCKET, SO_ERROR, &error, &size);  // clears the EMSGSIZE the ICMP set
  CHECK(::send(sender.get(), big.data(), big.size(), 0) < 0);
  CHECK(errno == EMSGSIZE);
  log::set_level(log::Level::Info);
}

}  // namespace
}  // namespace advpnd::dataplane
