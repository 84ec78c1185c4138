// InMemoryFabric (fakes/in_memory_fabric.h): delivery order and batches,
// NAT, link failures, GRE keys, delivery through a FakeLoop, and endpoints
// or the fabric going away at awkward moments.
#include "fakes/in_memory_fabric.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace {

using advpnd::IpAddress;
using advpnd::NbmaFrame;
using advpnd::NbmaTransport;
using advpnd::fakes::FabricRecord;
using advpnd::fakes::FabricTransport;
using advpnd::fakes::FakeLoop;
using advpnd::fakes::InMemoryFabric;

constexpr std::uint16_t kNhrp = 0x2001;
const IpAddress kHub = IpAddress::v4(203, 0, 113, 1);
const IpAddress kSpoke1 = IpAddress::v4(198, 51, 100, 2);
const IpAddress kSpoke2 = IpAddress::v4(198, 51, 100, 3);
const IpAddress kPublic1 = IpAddress::v4(192, 0, 2, 10);

struct Received {
  IpAddress outer_source;
  IpAddress outer_destination;
  std::uint16_t gre_protocol = 0;
  std::uint8_t tos = 0;
  std::vector<std::byte> payload;
};

// An endpoint plus what it received; `on_frame_extra` lets a test reply.
struct Node {
  std::unique_ptr<FabricTransport> transport;
  std::vector<Received> frames;
  std::vector<std::size_t> batches;  // frames seen at each on_batch_end
  std::function<void(const NbmaFrame&)> on_frame_extra;

  Node(InMemoryFabric& fabric, const IpAddress& address, std::optional<std::uint32_t> key = std::nullopt) {
    auto created = fabric.create_endpoint(address, key);
    REQUIRE(created.ok());
    transport = std::move(created).value();
    transport->set_handlers(NbmaTransport::Handlers{[this](const NbmaFrame& f) {
                                                      frames.push_back(
                                                          {f.outer_source, f.outer_destination, f.gre_protocol, f.tos,
                                                           std::vector<std::byte>(f.payload.begin(), f.payload.end())});
                                                      if (on_frame_extra) on_frame_extra(f);
                                                    },
                                                    [this] { batches.push_back(frames.size()); }});
  }
};

std::vector<std::byte> payload(std::uint8_t tag) { return {std::byte{0x00}, std::byte{0x01}, std::byte{tag}}; }

void send(Node& from, const IpAddress& to, std::uint8_t tag, std::uint8_t tos = 0xC0) {
  const auto data = payload(tag);
  REQUIRE(from.transport->send(to, kNhrp, data, tos).ok());
}

TEST_CASE("InMemoryFabric: a frame arrives with its outer addresses, protocol, TOS and payload") {
  InMemoryFabric fabric;
  Node hub(fabric, kHub);
  Node spoke(fabric, kSpoke1);
  send(spoke, kHub, 7, 0xC0);
  CHECK(hub.frames.empty());  // nothing is delivered inside send()
  CHECK(fabric.pending() == 1);
  CHECK(fabric.deliver_all() == 1);
  REQUIRE(hub.frames.size() == 1);
  CHECK(hub.frames[0].outer_source == kSpoke1);
  CHECK(hub.frames[0].outer_destination == kHub);
  CHECK(hub.frames[0].gre_protocol == kNhrp);
  CHECK(hub.frames[0].tos == 0xC0);
  CHECK(hub.frames[0].payload == payload(7));
  CHECK(hub.batches == std::vector<std::size_t>{1});
  CHECK(spoke.transport->stats().frames_sent == 1);
  CHECK(hub.transport->stats().frames_received == 1);
  CHECK(fabric.stats().frames_delivered == 1);
}

TEST_CASE("InMemoryFabric: frames are delivered in send order, one batch per receiver and round") {
  InMemoryFabric fabric;
  Node hub(fabric, kHub);
  Node s1(fabric, kSpoke1);
  Node s2(fabric, kSpoke2);
  send(s1, kHub, 1);
  send(s2, kHub, 2);
  send(s1, kSpoke2, 3);
  send(s1, kHub, 4);
  CHECK(fabric.deliver_round() == 4);
  REQUIRE(hub.frames.size() == 3);
  CHECK(hub.frames[0].payload == payload(1));
  CHECK(hub.frames[1].payload == payload(2));
  CHECK(hub.frames[2].payload == payload(4));
  CHECK(hub.batches == std::vector<std::size_t>{3});
  CHECK(s2.batches == std::vector<std::size_t>{1});
  CHECK(s1.batches.empty());
}

TEST_CASE("InMemoryFabric: replies sent from a handler go in the next round") {
  InMemoryFabric fabric;
  Node hub(fabric, kHub);
  Node spoke(fabric, kSpoke1);
  hub.on_frame_extra = [&](const NbmaFrame& f) {
    const auto reply = payload(99);
    REQUIRE(hub.transport->send(f.outer_source, kNhrp, reply, 0xC0).ok());
  };
  send(spoke, kHub, 1);
  CHECK(fabric.deliver_round() == 1);
  CHECK(spoke.frames.empty());
  CHECK(fabric.pending() == 1);
  CHECK(fabric.deliver_all() == 1);
  REQUIRE(spoke.frames.size() == 1);
  CHECK(spoke.frames[0].payload == payload(99));
}

TEST_CASE("InMemoryFabric: NAT rewrites the outer source, and the public address reaches the inner one") {
  InMemoryFabric fabric;
  Node hub(fabric, kHub);
  Node spoke(fabric, kSpoke1);
  REQUIRE(fabric.add_nat(kSpoke1, kPublic1).ok());
  CHECK_FALSE(fabric.add_nat(kSpoke2, kPublic1).ok());  // 1:1 only
  hub.on_frame_extra = [&](const NbmaFrame& f) {
    const auto reply = payload(2);
    REQUIRE(hub.transport->send(f.outer_source, kNhrp, reply, 0xC0).ok());  // answer the post-NAT address
  };
  send(spoke, kHub, 1);
  fabric.deliver_all();
  REQUIRE(hub.frames.size() == 1);
  CHECK(hub.frames[0].outer_source == kPublic1);
  REQUIRE(spoke.frames.size() == 1);
  CHECK(spoke.frames[0].outer_source == kHub);
  CHECK(spoke.frames[0].outer_destination == kSpoke1);  // the NAT rewrote the destination

  fabric.remove_nat(kSpoke1);
  send(hub, kPublic1, 3);
  fabric.deliver_all();
  CHECK(spoke.frames.size() == 1);
  CHECK(fabric.stats().dropped_no_endpoint == 1);
}

TEST_CASE("InMemoryFabric: a link that is down drops frames from and to it until it is up") {
  InMemoryFabric fabric;
  Node hub(fabric, kHub);
  Node spoke(fabric, kSpoke1);
  fabric.set_link_down(kSpoke1);
  CHECK(fabric.link_down(kSpoke1));
  send(spoke, kHub, 1);
  send(hub, kSpoke1, 2);
  fabric.deliver_all();
  CHECK(hub.frames.empty());
  CHECK(spoke.frames.empty());
  CHECK(fabric.stats().dropped_link_down == 2);

  send(spoke, kHub, 3);  // in flight when the link comes back: delivered
  fabric.set_link_up(kSpoke1);
  fabric.deliver_all();
  CHECK(hub.frames.size() == 1);
}

TEST_CASE("InMemoryFabric: GRE keys must match like on the wire") {
  InMemoryFabric fabric;
  Node keyed_hub(fabric, kHub, 42);
  Node same_key(fabric, kSpoke1, 42);
  Node other_key(fabric, kSpoke2, 7);
  Node no_key(fabric, kPublic1);
  send(same_key, kHub, 1);
  send(other_key, kHub, 2);
  send(no_key, kHub, 3);
  send(keyed_hub, kPublic1, 4);
  fabric.deliver_all();
  REQUIRE(keyed_hub.frames.size() == 1);
  CHECK(keyed_hub.frames[0].payload == payload(1));
  CHECK(keyed_hub.transport->stats().dropped_wrong_key == 2);
  CHECK(no_key.frames.empty());
  CHECK(no_key.transport->stats().dropped_wrong_key == 1);
  CHECK(fabric.stats().dropped_wrong_key == 3);
}

TEST_CASE("InMemoryFabric: delivery through a FakeLoop, as a zero-latency wire") {
  FakeLoop loop;
  InMemoryFabric fabric(loop);
  Node a(fabric, kSpoke1);
  Node b(fabric, kSpoke2);
  // Ping-pong five times, each answer sent from the handler.
  auto echo = [](Node& self) {
    return [&self](const NbmaFrame& f) {
      const auto tag = std::to_integer<std::uint8_t>(f.payload[2]);
      if (tag >= 5) return;
      const auto reply = payload(static_cast<std::uint8_t>(tag + 1));
      REQUIRE(self.transport->send(f.outer_source, kNhrp, reply, 0).ok());
    };
  };
  a.on_frame_extra = echo(a);
  b.on_frame_extra = echo(b);
  const auto start = loop.now();
  send(a, kSpoke2, 0);
  CHECK(loop.posted_tasks() == 1);
  loop.run_until_idle();
  CHECK(b.frames.size() == 3);  // tags 0, 2, 4
  CHECK(a.frames.size() == 3);  // tags 1, 3, 5
  CHECK(loop.now() == start);
  CHECK(fabric.pending() == 0);

  // A timer that sends: advance() delivers too.
  auto timer = loop.make_timer([&] { send(a, kSpoke2, 9); });
  timer->arm(std::chrono::seconds(1));
  loop.advance(std::chrono::seconds(2));
  CHECK(b.frames.size() == 4);
}

TEST_CASE("InMemoryFabric: endpoints and the fabric may go away at awkward moments") {
  SUBCASE("a receiver destroyed by an earlier handler of the round") {
    InMemoryFabric fabric;
    auto hub = std::make_unique<Node>(fabric, kHub);
    Node s1(fabric, kSpoke1);
    s1.on_frame_extra = [&](const NbmaFrame&) { hub.reset(); };
    send(*hub, kSpoke1, 1);
    send(s1, kHub, 2);
    CHECK(fabric.deliver_all() == 1);
    CHECK(fabric.stats().dropped_no_endpoint == 1);
  }
  SUBCASE("an endpoint destroyed inside its own on_frame") {
    InMemoryFabric fabric;
    auto hub = std::make_unique<Node>(fabric, kHub);
    Node s1(fabric, kSpoke1);
    hub->transport->set_handlers(NbmaTransport::Handlers{[&](const NbmaFrame&) { hub.reset(); }, {}});
    send(s1, kHub, 1);
    send(s1, kHub, 2);
    fabric.deliver_all();
    CHECK(hub == nullptr);
    CHECK(fabric.stats().dropped_no_endpoint == 1);
  }
  SUBCASE("the fabric destroyed before its endpoints") {
    std::unique_ptr<FabricTransport> orphan;
    {
      InMemoryFabric fabric;
      auto created = fabric.create_endpoint(kHub);
      REQUIRE(created.ok());
      orphan = std::move(created).value();
    }
    const auto data = payload(1);
    CHECK_FALSE(orphan->send(kSpoke1, kNhrp, data, 0).ok());
  }
}

TEST_CASE("InMemoryFabric: refusals, observer and the round limit") {
  InMemoryFabric fabric;
  Node hub(fabric, kHub);
  CHECK_FALSE(fabric.create_endpoint(kHub).ok());
  CHECK_FALSE(fabric.create_endpoint(IpAddress{}).ok());
  const auto data = payload(1);
  CHECK_FALSE(hub.transport->send(IpAddress{}, kNhrp, data, 0).ok());
  CHECK_FALSE(hub.transport->send(*IpAddress::parse("2001:db8::1"), kNhrp, data, 0).ok());
  CHECK(hub.transport->stats().send_errors == 2);

  std::vector<IpAddress> seen;
  fabric.set_observer([&](const FabricRecord& r) {
    seen.push_back(r.destination);
    CHECK(r.sender == kHub);
    CHECK(r.payload.size() == 3);
  });
  REQUIRE(hub.transport->send(kSpoke1, kNhrp, data, 0).ok());  // to nobody: sent, then dropped
  CHECK(seen == std::vector<IpAddress>{kSpoke1});
  fabric.deliver_all();
  CHECK(fabric.stats().dropped_no_endpoint == 1);

  // Two endpoints that answer each other forever stop at max_rounds.
  fabric.set_observer({});
  Node a(fabric, kSpoke1);
  Node b(fabric, kSpoke2);
  a.on_frame_extra = [&](const NbmaFrame&) { send(a, kSpoke2, 0); };
  b.on_frame_extra = [&](const NbmaFrame&) { send(b, kSpoke1, 0); };
  send(a, kSpoke2, 0);
  CHECK(fabric.deliver_all(10) == 10);
  CHECK(fabric.pending() == 1);
}

}  // namespace
