// RawGreTransport (platform/raw_gre_transport.h) over real raw GRE sockets,
// in a private network namespace on loopback (127.0.0.0/8 only; nothing is
// ever sent elsewhere). Needs root: without it every case fails with a
// message saying so (private_netns.h).
#include "platform/raw_gre_transport.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "platform/event_loop.h"
#include "platform/unique_fd.h"
#include "tests/platform/private_netns.h"

namespace {

using namespace std::chrono_literals;
using advpnd::IpAddress;
using advpnd::NbmaFrame;
using advpnd::NbmaTransport;
using advpnd::platform::EventLoop;
using advpnd::platform::kNhrpTos;
using advpnd::platform::OutgoingFrame;
using advpnd::platform::RawGreConfig;
using advpnd::platform::RawGreTransport;
using advpnd::platform::UniqueFd;

constexpr std::uint16_t kNhrp = 0x2001;
const IpAddress kA = IpAddress::v4(127, 0, 0, 2);
const IpAddress kB = IpAddress::v4(127, 0, 0, 3);
const IpAddress kC = IpAddress::v4(127, 0, 0, 4);
const IpAddress kD = IpAddress::v4(127, 0, 0, 5);
const IpAddress kE = IpAddress::v4(127, 0, 0, 6);
const IpAddress kRawSender = IpAddress::v4(127, 0, 0, 9);

void require_root_netns() {
  const auto netns = advpnd::test::enter_private_netns();
  REQUIRE_MESSAGE(netns.ok, netns.message);
  if (!netns.isolated) MESSAGE(netns.message);
}

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  REQUIRE_MESSAGE(loop.ok(), loop.error());
  return std::move(loop).value();
}

struct Received {
  IpAddress outer_source;
  IpAddress outer_destination;
  std::uint16_t gre_protocol = 0;
  std::uint8_t tos = 0;
  std::vector<std::byte> payload;
};

// A transport and what it received; `on_frame_extra` lets a test reply.
struct Peer {
  std::unique_ptr<RawGreTransport> transport;
  std::vector<Received> frames;
  std::vector<std::size_t> batches;  // frames in each batch
  std::size_t in_batch = 0;
  std::function<void(const NbmaFrame&)> on_frame_extra;

  Peer(EventLoop& loop, RawGreConfig config) {
    auto opened = RawGreTransport::open(loop, config);
    REQUIRE_MESSAGE(opened.ok(), opened.error());
    transport = std::move(opened).value();
    transport->set_handlers(NbmaTransport::Handlers{[this](const NbmaFrame& f) {
                                                      frames.push_back(
                                                          {f.outer_source, f.outer_destination, f.gre_protocol, f.tos,
                                                           std::vector<std::byte>(f.payload.begin(), f.payload.end())});
                                                      ++in_batch;
                                                      if (on_frame_extra) on_frame_extra(f);
                                                    },
                                                    [this] { batches.push_back(std::exchange(in_batch, 0)); }});
  }
  Peer(EventLoop& loop, const IpAddress& address, std::optional<std::uint32_t> key = std::nullopt)
      : Peer(loop, RawGreConfig{.local = address, .gre_key = key}) {}
};

std::vector<std::byte> payload(std::uint8_t tag, std::size_t size = 24) {
  std::vector<std::byte> out(size, std::byte{0x5a});
  out[0] = std::byte{0x00};
  out[1] = std::byte{0x01};  // NHRP ar$afn 1 (IPv4), like a real fixed header
  out[2] = std::byte{tag};
  return out;
}

// Turns the loop without blocking until `done` holds or 2 s pass.
bool pump(EventLoop& loop, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!done()) {
    REQUIRE(loop.run_nonblocking().ok());
    if (done()) break;
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::usleep(500);
  }
  return true;
}

// Drains whatever is in flight, for tests that expect nothing to arrive.
void settle(EventLoop& loop) {
  for (int i = 0; i < 20; ++i) {
    REQUIRE(loop.run_nonblocking().ok());
    ::usleep(1000);
  }
}

// A plain raw GRE socket for bytes the transport would never produce.
struct RawSender {
  UniqueFd fd{::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_GRE)};
  RawSender() {
    REQUIRE(fd.valid());
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(kRawSender.v4_value());
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) == 0);
  }
  void send(const IpAddress& to, const std::vector<std::byte>& bytes) const {
    REQUIRE(to.byte(0) == 127);  // tests never leave loopback
    sockaddr_in dest{};
    dest.sin_family = AF_INET;
    dest.sin_addr.s_addr = htonl(to.v4_value());
    REQUIRE(::sendto(fd.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&dest), sizeof dest) ==
            static_cast<ssize_t>(bytes.size()));
  }
};

std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (unsigned v : values) out.push_back(std::byte{static_cast<std::uint8_t>(v)});
  return out;
}

TEST_CASE("RawGreTransport: NHRP frames both ways without a key; TOS, outer addresses, batch end") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  Peer b(*loop, kB);
  Peer bystander(*loop, kC);
  // B answers from inside on_frame: the reply is queued and leaves in one
  // sendmmsg after on_batch_end.
  b.on_frame_extra = [&](const NbmaFrame& f) {
    const auto reply = payload(static_cast<std::uint8_t>(std::to_integer<unsigned>(f.payload[2]) + 100));
    REQUIRE(b.transport->send(f.outer_source, kNhrp, reply, kNhrpTos).ok());
  };
  const auto request = payload(1);
  REQUIRE(a.transport->send(kB, kNhrp, request, kNhrpTos).ok());
  REQUIRE(pump(*loop, [&] { return !a.frames.empty(); }));

  REQUIRE(b.frames.size() == 1);
  CHECK(b.frames[0].outer_source == kA);
  CHECK(b.frames[0].outer_destination == kB);
  CHECK(b.frames[0].gre_protocol == kNhrp);
  CHECK(b.frames[0].tos == kNhrpTos);
  CHECK(b.frames[0].payload == request);
  CHECK(b.batches == std::vector<std::size_t>{1});

  REQUIRE(a.frames.size() == 1);
  CHECK(a.frames[0].outer_source == kB);
  CHECK(a.frames[0].payload == payload(101));
  CHECK(a.batches == std::vector<std::size_t>{1});

  CHECK(a.transport->stats().frames_sent == 1);
  CHECK(a.transport->stats().frames_received == 1);
  CHECK(b.transport->stats().frames_sent == 1);
  CHECK(b.transport->stats().frames_received == 1);
  settle(*loop);
  CHECK(bystander.frames.empty());  // the kernel delivers by bound address
  CHECK(bystander.transport->stats().dropped_malformed == 0);
}

// Issue #12 part 2: GRE only from the IPsec interface (IP_PKTINFO). On
// loopback every frame arrives on "lo": named, it passes; any other name
// (charon's ipsec0 is absent here) drops every frame before it is parsed.
TEST_CASE("RawGreTransport: with ipsec_interface, GRE from another interface is dropped and counted") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  Peer through(*loop, RawGreConfig{.local = kB, .ipsec_interface = "lo"});
  REQUIRE(a.transport->send(kB, kNhrp, payload(1), kNhrpTos).ok());
  REQUIRE(pump(*loop, [&] { return through.frames.size() == 1; }));
  CHECK(through.transport->stats().dropped_not_ipsec == 0);
  CHECK(through.transport->stats().frames_received == 1);

  Peer clear(*loop, RawGreConfig{.local = kC, .ipsec_interface = "ipsec0"});
  for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(a.transport->send(kC, kNhrp, payload(i), kNhrpTos).ok());
  REQUIRE(pump(*loop, [&] { return clear.transport->stats().dropped_not_ipsec == 5; }));
  settle(*loop);
  CHECK(clear.frames.empty());
  CHECK(clear.batches.empty());  // no on_batch_end for a batch of nothing
  CHECK(clear.transport->stats().frames_received == 0);
  CHECK(clear.transport->stats().dropped_malformed == 0);  // dropped before the GRE parser
  CHECK(clear.transport->stats().dropped_not_ipsec == 5);
}

TEST_CASE("RawGreTransport: the TOS of each frame is applied") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  Peer b(*loop, kB);
  const std::vector<std::uint8_t> tos_values{0x00, kNhrpTos, 0x28, 0xb8};  // none, NHRP, AF11, EF
  for (std::uint8_t tos : tos_values) {
    const auto data = payload(tos);
    REQUIRE(a.transport->send(kB, 0x0800, data, tos).ok());
  }
  REQUIRE(pump(*loop, [&] { return b.frames.size() == tos_values.size(); }));
  for (std::size_t i = 0; i < tos_values.size(); ++i) {
    CHECK(b.frames[i].tos == tos_values[i]);
    CHECK(b.frames[i].gre_protocol == 0x0800);
  }
}

TEST_CASE("RawGreTransport: GRE keys: same key accepted, other, missing or unexpected key dropped and counted") {
  require_root_netns();
  auto loop = make_loop();
  Peer plain(*loop, kA);
  Peer key1(*loop, kC, 1);
  Peer key2(*loop, kD, 2);
  Peer key1_too(*loop, kE, 1);

  const auto data = payload(7);
  REQUIRE(key1.transport->send(kE, kNhrp, data, kNhrpTos).ok());   // same key
  REQUIRE(key1.transport->send(kD, kNhrp, data, kNhrpTos).ok());   // different key
  REQUIRE(plain.transport->send(kC, kNhrp, data, kNhrpTos).ok());  // missing key
  REQUIRE(key1.transport->send(kA, kNhrp, data, kNhrpTos).ok());   // unexpected key
  REQUIRE(pump(*loop, [&] {
    return key1_too.frames.size() == 1 && key2.transport->stats().dropped_wrong_key == 1 &&
           key1.transport->stats().dropped_wrong_key == 1 && plain.transport->stats().dropped_wrong_key == 1;
  }));
  CHECK(key1_too.frames[0].payload == data);
  CHECK(key1_too.frames[0].outer_source == kC);
  CHECK(key2.frames.empty());
  CHECK(key1.frames.empty());
  CHECK(plain.frames.empty());
  CHECK(key2.batches.empty());  // nothing delivered, so no batch end
  CHECK(key2.transport->stats().frames_received == 0);
}

TEST_CASE("RawGreTransport: malformed GRE is dropped and counted, and later frames still arrive") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  Peer b(*loop, kB);
  RawSender raw;
  raw.send(kB, bytes({0x00, 0x00}));                          // shorter than a GRE header
  raw.send(kB, bytes({0x00, 0x01, 0x20, 0x01, 0xaa}));        // version 1 (PPTP)
  raw.send(kB, bytes({0x40, 0x00, 0x20, 0x01, 0xaa}));        // routing present (RFC 1701)
  raw.send(kB, bytes({0x20, 0x00, 0x20, 0x01, 0x00, 0x00}));  // K bit, key cut short
  raw.send(kB, {});                                           // no GRE at all
  REQUIRE(pump(*loop, [&] { return b.transport->stats().dropped_malformed == 5; }));
  CHECK(b.frames.empty());
  CHECK(b.batches.empty());

  const auto data = payload(3);
  REQUIRE(a.transport->send(kB, kNhrp, data, kNhrpTos).ok());
  REQUIRE(pump(*loop, [&] { return b.frames.size() == 1; }));
  CHECK(b.frames[0].payload == data);
  CHECK(b.transport->stats().dropped_malformed == 5);
}

TEST_CASE("RawGreTransport: an outer header with IP options is parsed past its options") {
  require_root_netns();
  auto loop = make_loop();
  Peer b(*loop, kB);
  RawSender raw;
  const auto options = bytes({0x01, 0x01, 0x01, 0x00});  // NOP NOP NOP EOL: IHL 6
  REQUIRE(::setsockopt(raw.fd.get(), IPPROTO_IP, IP_OPTIONS, options.data(), options.size()) == 0);
  auto frame = bytes({0x00, 0x00, 0x20, 0x01});
  const auto data = payload(5);
  frame.insert(frame.end(), data.begin(), data.end());
  raw.send(kB, frame);
  REQUIRE(pump(*loop, [&] { return b.frames.size() == 1; }));
  CHECK(b.frames[0].outer_source == kRawSender);
  CHECK(b.frames[0].payload == data);
}

TEST_CASE("RawGreTransport: a frame larger than the receive buffer is dropped as malformed") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  Peer small(*loop, RawGreConfig{.local = kB, .max_frame_size = 64});
  const auto big = payload(1, 200);
  REQUIRE(a.transport->send(kB, kNhrp, big, kNhrpTos).ok());
  REQUIRE(pump(*loop, [&] { return small.transport->stats().dropped_malformed == 1; }));
  CHECK(small.frames.empty());
}

TEST_CASE("RawGreTransport: receive batches are bounded per loop turn; replies are batched too") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  Peer b(*loop, RawGreConfig{.local = kB, .receive_batch = 8, .max_rounds_per_event = 1});
  b.on_frame_extra = [&](const NbmaFrame& f) {
    REQUIRE(b.transport->send(f.outer_source, kNhrp, f.payload, kNhrpTos).ok());  // echo
  };
  constexpr std::size_t kFrames = 50;
  std::vector<std::vector<std::byte>> payloads;
  std::vector<OutgoingFrame> out;
  payloads.reserve(kFrames);
  out.reserve(kFrames);
  for (std::size_t i = 0; i < kFrames; ++i) payloads.push_back(payload(static_cast<std::uint8_t>(i)));
  for (const auto& p : payloads) out.push_back({kB, kNhrp, p, kNhrpTos});
  CHECK(a.transport->send_batch(out) == kFrames);
  ::usleep(50'000);  // let loopback deliver all of them to b's socket

  // One turn reads one recvmmsg of 8 frames and leaves the rest for later turns.
  REQUIRE(loop->run_nonblocking().ok());
  CHECK(b.frames.size() == 8);
  CHECK(b.batches == std::vector<std::size_t>{8});

  REQUIRE(pump(*loop, [&] { return a.frames.size() == kFrames; }));
  CHECK(b.frames.size() == kFrames);
  std::size_t total = 0;
  for (std::size_t n : b.batches) {
    CHECK(n <= 8);
    total += n;
  }
  CHECK(total == kFrames);
  CHECK(b.batches.size() >= kFrames / 8);
  for (std::size_t i = 0; i < kFrames; ++i) CHECK(a.frames[i].payload == payloads[i]);  // order kept
  CHECK(b.transport->stats().frames_sent == kFrames);
  CHECK(b.transport->stats().send_errors == 0);
}

// Issue #10: during a registration storm a hair-pinned voice frame waited
// behind thousands of queued NHRP requests (p99 212 ms, bench/hub_load
// --data-rate). With the NHRP socket apart, a data frame waits for at most
// one NHRP batch; with one socket it waits for all that came before it.
TEST_CASE("RawGreTransport: a data frame is not held behind queued NHRP frames") {
  require_root_netns();
  constexpr std::size_t kNhrpFrames = 200;
  constexpr std::uint16_t kIpv4 = 0x0800;
  for (const bool apart : {true, false}) {
    CAPTURE(apart);
    auto loop = make_loop();
    Peer a(*loop, kA);
    Peer b(*loop, RawGreConfig{.local = kB, .receive_batch = 8, .max_rounds_per_event = 1, .nhrp_socket_apart = apart});
    std::vector<std::vector<std::byte>> payloads;
    std::vector<OutgoingFrame> out;
    payloads.reserve(kNhrpFrames + 1);
    for (std::size_t i = 0; i < kNhrpFrames; ++i) payloads.push_back(payload(static_cast<std::uint8_t>(i)));
    payloads.push_back(payload(0xEE, 100));
    for (std::size_t i = 0; i < kNhrpFrames; ++i) out.push_back({kB, kNhrp, payloads[i], kNhrpTos});
    out.push_back({kB, kIpv4, payloads.back(), 0xB8});  // the data frame, sent last
    REQUIRE(a.transport->send_batch(out) == out.size());
    ::usleep(50'000);  // every frame is in b's socket(s) before b reads any

    std::size_t nhrp_before_data = 0;
    bool data_seen = false;
    REQUIRE(pump(*loop, [&] {
      for (const auto& f : b.frames) {
        if (f.gre_protocol == kIpv4) data_seen = true;
      }
      return b.frames.size() == out.size();
    }));
    for (const auto& f : b.frames) {
      if (f.gre_protocol == kIpv4) break;
      ++nhrp_before_data;
    }
    CHECK(data_seen);
    if (apart) {
      CHECK(nhrp_before_data <= 8);  // at most the one NHRP batch already being read
    } else {
      CHECK(nhrp_before_data == kNhrpFrames);  // FIFO behind every request
    }
    // Each frame once: the two sockets split the frames, they never both take one.
    CHECK(b.transport->stats().frames_received == out.size());
    std::size_t nhrp_count = 0;
    for (const auto& f : b.frames) nhrp_count += f.gre_protocol == kNhrp ? 1 : 0;
    CHECK(nhrp_count == kNhrpFrames);
    CHECK(b.frames[nhrp_before_data].payload == payloads.back());
    CHECK(b.frames[nhrp_before_data].tos == 0xB8);
  }
}

TEST_CASE("RawGreTransport: refusals are values naming the address") {
  require_root_netns();
  auto loop = make_loop();
  SUBCASE("local address not IPv4") {
    auto opened = RawGreTransport::open(*loop, RawGreConfig{.local = *IpAddress::parse("::1")});
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().find("::1") != std::string::npos);
  }
  SUBCASE("local address not on this host (bind only: nothing is sent)") {
    auto opened = RawGreTransport::open(*loop, RawGreConfig{.local = IpAddress::v4(192, 0, 2, 1)});
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().find("192.0.2.1") != std::string::npos);
    CHECK(opened.error().find("bind") != std::string::npos);
  }
  SUBCASE("destination not IPv4, or too large") {
    Peer a(*loop, kA);
    const auto data = payload(1);
    auto sent = a.transport->send(*IpAddress::parse("::1"), kNhrp, data, kNhrpTos);
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().find("not IPv4") != std::string::npos);
    const std::vector<std::byte> huge(70'000);
    CHECK_FALSE(a.transport->send(kB, kNhrp, huge, kNhrpTos).ok());
    CHECK(a.transport->stats().frames_sent == 0);
  }
}

TEST_CASE("RawGreTransport: a handler may destroy its transport, and a throwing handler loses no batch") {
  require_root_netns();
  auto loop = make_loop();
  Peer a(*loop, kA);
  auto b = std::make_unique<Peer>(*loop, kB);
  Peer c(*loop, kC);
  int thrown = 0;
  c.on_frame_extra = [&](const NbmaFrame&) {
    ++thrown;
    throw std::runtime_error("test: deliberate");
  };
  // The transport's own handler destroys it (and its Peer) mid-batch.
  b->transport->set_handlers(NbmaTransport::Handlers{[&](const NbmaFrame&) { b.reset(); }, {}});
  const auto data = payload(1);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(a.transport->send(kB, kNhrp, data, kNhrpTos).ok());
    REQUIRE(a.transport->send(kC, kNhrp, data, kNhrpTos).ok());
  }
  REQUIRE(pump(*loop, [&] { return b == nullptr && c.frames.size() == 3; }));
  CHECK(thrown == 3);
  CHECK(c.batches.size() >= 1);  // on_batch_end still ran after the throws
  settle(*loop);
}

}  // namespace
