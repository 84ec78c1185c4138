// In-process tier (STYLE.md "tests in tiers"): a hub and simulated spokes
// over the in-memory NBMA fabric with a fake clock, and the hub's real
// SQLite store in a temporary file. Everything the spokes see arrives as
// wire bytes through the fabric, NAT included.
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "base/log.h"
#include "db/sqlite.h"
#include "db/sqlite_registration_store.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "hub/next_hop_server.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"

namespace advpnd::hub {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const IpAddress kHubNbma = ip("203.0.113.1");
const IpAddress kHubProtocol = ip("10.0.0.1");

// A simulated spoke: a fabric endpoint that decodes what reaches it.
struct SimSpoke {
  SimSpoke(fakes::InMemoryFabric& fabric, IpAddress nbma_address, IpAddress protocol_address)
      : nbma(nbma_address), protocol(protocol_address) {
    auto made = fabric.create_endpoint(nbma);
    REQUIRE(made.ok());
    endpoint = std::move(made).value();
    endpoint->set_handlers({[this](const NbmaFrame& frame) {
                              auto packet = nhrp::decode(frame.payload);
                              REQUIRE_MESSAGE(packet.ok(), "hub sent an undecodable packet");
                              received.push_back(*packet);
                            },
                            [] {}});
  }
  nhrp::Sender sender() const { return {nbma, protocol, nhrp::Dialect::Cisco, std::nullopt}; }
  void send(const nhrp::Packet& packet) {
    auto bytes = nhrp::encode(packet);
    REQUIRE(bytes.ok());
    REQUIRE(endpoint->send(kHubNbma, nhrp::kGreProtocolNhrp, *bytes, 0xC0).ok());
  }
  // `lan`: the CIE registers that prefix (the networks behind the spoke)
  // instead of the spoke's own address; the request still comes from it.
  void register_with_hub(std::uint32_t request_id, std::uint8_t prefix_length = 32, IpAddress lan = {}) {
    nhrp::RegistrationRequestSpec spec;
    spec.sender = sender();
    spec.nhs_protocol = kHubProtocol;
    spec.nhs_nbma = kHubNbma;
    spec.request_id = request_id;
    spec.holding_time = 600;
    spec.prefix_length = prefix_length;
    nhrp::Packet request = nhrp::build_registration_request(spec);
    if (!lan.empty()) request.cies.at(0).protocol = lan;
    send(request);
  }
  void resolve(const IpAddress& target, std::uint32_t request_id) {
    nhrp::ResolutionRequestSpec spec;
    spec.sender = sender();
    spec.target = target;
    spec.request_id = request_id;
    send(nhrp::build_resolution_request(spec));
  }
  nhrp::Packet take() {
    REQUIRE(received.size() == 1);
    nhrp::Packet packet = received.front();
    received.clear();
    return packet;
  }

  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> endpoint;
  std::vector<nhrp::Packet> received;
};

struct Network {
  Network()
      : fabric(loop), dir(std::filesystem::temp_directory_path() / ("advpnd-fabric-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto endpoint = fabric.create_endpoint(kHubNbma);
    REQUIRE(endpoint.ok());
    hub_transport = std::move(endpoint).value();
    start_hub();
  }
  ~Network() {
    hub.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  void start_hub() {
    hub.reset();
    store.reset();
    auto opened = db::SqliteRegistrationStore::open((dir / "hub.db").string());
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().to_string()));
    store = std::move(opened).value();
    NhsConfig config;
    config.nbma = kHubNbma;
    config.protocol = kHubProtocol;
    hub = std::make_unique<NextHopServer>(config, *hub_transport, *store, loop, loop);
    REQUIRE(hub->start().ok());
  }
  // The loop's work and the store thread's commits, until neither has any left.
  void run() {
    do {
      loop.run_until_idle();
      if (store) store->wait_idle();
    } while (store && store->deliver_completions() > 0);
  }

  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric;
  std::filesystem::path dir;
  std::unique_ptr<fakes::FabricTransport> hub_transport;
  std::unique_ptr<db::SqliteRegistrationStore> store;
  std::unique_ptr<NextHopServer> hub;
};

TEST_CASE("fabric: three spokes, one behind NAT, register; resolutions give the NAT-corrected NBMA") {
  log::set_level(log::Level::Warning);  // the hub logs each registration at info
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  SimSpoke b(net.fabric, ip("198.51.100.3"), ip("10.0.0.3"));
  SimSpoke natted(net.fabric, ip("192.168.1.10"), ip("10.0.0.5"));
  REQUIRE(net.fabric.add_nat(natted.nbma, ip("198.51.100.20")).ok());

  a.register_with_hub(1);
  b.register_with_hub(2);
  natted.register_with_hub(3);
  net.run();
  for (SimSpoke* spoke : {&a, &b, &natted}) {
    const nhrp::Packet reply = spoke->take();
    CHECK(reply.type == nhrp::PacketType::RegistrationReply);
    REQUIRE(reply.cies.size() == 1);
    CHECK(reply.cies[0].code == nhrp::CieCode::Success);
  }
  CHECK(net.hub->cache().size() == 3);
  CHECK(net.hub->stats().commits >= 1);

  // The NATted spoke learns its public address from the reply (7.6) ...
  natted.register_with_hub(4);
  net.run();
  const nhrp::Packet natted_reply = natted.take();
  const nhrp::Extension* nat = natted_reply.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  REQUIRE(nat != nullptr);
  REQUIRE(nat->cies.size() == 2);
  CHECK(nat->cies[1].nbma == ip("198.51.100.20"));

  // ... and a resolver gets the address that reaches it.
  a.resolve(natted.protocol, 10);
  net.run();
  const nhrp::Packet answer = a.take();
  CHECK(answer.type == nhrp::PacketType::ResolutionReply);
  REQUIRE(answer.cies.size() == 1);
  CHECK(answer.cies[0].code == nhrp::CieCode::Success);
  CHECK(answer.cies[0].nbma == natted.nbma);
  const nhrp::Extension* answer_nat = answer.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  REQUIRE(answer_nat != nullptr);
  REQUIRE(answer_nat->cies.size() == 1);
  CHECK(answer_nat->cies[0].nbma == ip("198.51.100.20"));
  CHECK(answer_nat->cies[0].protocol == natted.protocol);

  a.resolve(b.protocol, 11);
  net.run();
  CHECK(a.take().cies.at(0).nbma == b.nbma);
}

TEST_CASE("fabric: a request for a spoke's LAN is forwarded to it and its reply relayed back") {
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  SimSpoke b(net.fabric, ip("198.51.100.3"), ip("10.0.0.3"));
  a.register_with_hub(1);
  b.register_with_hub(2, 24, ip("192.168.2.1"));  // b serves 192.168.2.0/24
  net.run();
  (void)a.take();
  CHECK(b.take().cies.at(0).code == nhrp::CieCode::Success);

  a.resolve(ip("192.168.2.20"), 7);
  net.run();
  CHECK(a.received.empty());
  const nhrp::Packet forwarded = b.take();
  CHECK(forwarded.type == nhrp::PacketType::ResolutionRequest);
  CHECK(forwarded.hop_count == nhrp::kCiscoHopCount - 1);
  const nhrp::Extension* transit = forwarded.find_extension(nhrp::ExtensionType::ForwardTransit);
  REQUIRE(transit != nullptr);
  REQUIRE(transit->cies.size() == 1);
  CHECK(transit->cies[0].nbma == kHubNbma);

  // b answers through the hub (as FRR routes replies), the hub relays it to a.
  nhrp::Cie cie;
  cie.prefix_length = 24;
  cie.holding_time = 600;
  cie.nbma = b.nbma;
  cie.protocol = b.protocol;
  nhrp::ReplySpec spec;
  spec.sender = b.sender();
  spec.responder = cie;
  b.send(nhrp::build_resolution_reply(forwarded, std::span<const nhrp::Cie>(&cie, 1), spec));
  net.run();
  const nhrp::Packet relayed = a.take();
  CHECK(relayed.type == nhrp::PacketType::ResolutionReply);
  CHECK(relayed.request_id == 7);
  CHECK(relayed.cies.at(0).nbma == b.nbma);
  CHECK(relayed.cies.at(0).prefix_length == 24);
  const nhrp::Extension* reverse = relayed.find_extension(nhrp::ExtensionType::ReverseTransit);
  REQUIRE(reverse != nullptr);
  CHECK(reverse->cies.size() == 1);

  // A second copy of that reply is not relayed again.
  b.send(nhrp::build_resolution_reply(forwarded, std::span<const nhrp::Cie>(&cie, 1), spec));
  net.run();
  CHECK(a.received.empty());
}

TEST_CASE("fabric: a restarted hub answers from its SQLite file before anyone re-registers") {
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  SimSpoke b(net.fabric, ip("198.51.100.3"), ip("10.0.0.3"));
  a.register_with_hub(1);
  b.register_with_hub(2);
  net.run();
  (void)a.take();
  (void)b.take();

  net.start_hub();  // a new process on the same file
  CHECK(net.hub->cache().size() == 2);
  a.resolve(b.protocol, 3);
  net.run();
  const nhrp::Packet answer = a.take();
  CHECK(answer.cies.at(0).code == nhrp::CieCode::Success);
  CHECK(answer.cies.at(0).nbma == b.nbma);
  CHECK(answer.cies.at(0).holding_time <= 600);
}

TEST_CASE("fabric: a hair-pin makes the hub send the source spoke a Traffic Indication") {
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  // ICMP echo 192.168.1.10 -> 192.168.2.20 (IPv4 header + 8 bytes).
  std::vector<std::byte> packet(28);
  packet[0] = std::byte{0x45};
  packet[9] = std::byte{1};
  const std::uint8_t src[] = {192, 168, 1, 10};
  const std::uint8_t dst[] = {192, 168, 2, 20};
  for (int i = 0; i < 4; ++i) {
    packet[12 + i] = std::byte{src[i]};
    packet[16 + i] = std::byte{dst[i]};
  }
  net.hub->redirect().on_hairpin(a.nbma, packet);
  net.hub->redirect().on_hairpin(a.nbma, packet);  // rate limited: 4/min, burst 1
  net.run();
  const nhrp::Packet indication = a.take();
  CHECK(indication.type == nhrp::PacketType::TrafficIndication);
  CHECK(indication.dst_protocol == ip("192.168.1.10"));
  CHECK(indication.payload == packet);
  CHECK(net.hub->redirect().stats().rate_limited == 1);
}

TEST_CASE("fabric: a purge to a resolver whose link is down is retried a bounded number of times") {
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  SimSpoke b(net.fabric, ip("198.51.100.3"), ip("10.0.0.3"));
  a.register_with_hub(1);
  b.register_with_hub(2);
  net.run();
  (void)a.take();
  (void)b.take();
  a.resolve(b.protocol, 3);
  net.run();
  (void)a.take();

  net.fabric.set_link_down(a.nbma);
  REQUIRE(net.hub->clear_registration(b.protocol).ok());
  net.run();
  for (int i = 0; i < 10; ++i) net.loop.advance(std::chrono::seconds(10));
  CHECK(a.received.empty());
  CHECK(net.hub->stats().sent[static_cast<std::size_t>(nhrp::PacketType::PurgeRequest)] ==
        static_cast<std::uint64_t>(NhsConfig{}.purge_attempts));
}

// Rows of a table in the hub's file, read by a connection of our own.
std::int64_t count_rows(const std::filesystem::path& file, const std::string& table) {
  auto connection = db::Connection::open(file.string(), db::Connection::Mode::ReadOnly);
  REQUIRE(connection.ok());
  auto count = connection->query_int("SELECT count(*) FROM " + table);
  REQUIRE_MESSAGE(count.ok(), (count.ok() ? "" : count.error().to_string()));
  return count.value();
}

TEST_CASE("fabric: refreshes that change nothing do not write an audit row each (issue #10 item 2)") {
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  a.register_with_hub(1);
  net.run();
  CHECK(a.take().cies.at(0).code == nhrp::CieCode::Success);
  const std::int64_t audit_before = count_rows(net.dir / "hub.db", "audit");
  constexpr int kRefreshes = 50;
  for (int i = 0; i < kRefreshes; ++i) {
    net.loop.advance(std::chrono::seconds(200));  // a spoke refreshes at a third of its holding time
    a.register_with_hub(static_cast<std::uint32_t>(2 + i));
    net.run();
    CHECK(a.take().cies.at(0).code == nhrp::CieCode::Success);
  }
  const std::int64_t audit_after = count_rows(net.dir / "hub.db", "audit");
  MESSAGE("audit rows: " << audit_before << " -> " << audit_after << " over " << kRefreshes << " refreshes");
  CHECK(audit_after - audit_before < kRefreshes);
  CHECK(net.hub->stats().refreshes_unchanged == kRefreshes);
  // The binding itself is refreshed in the file: its expiry moved on.
  net.start_hub();
  REQUIRE(net.hub->cache().size() == 1);
  CHECK(net.hub->cache().all().begin()->second.expires_at == net.loop.unix_seconds() + 600);
}

TEST_CASE("fabric: after a restart, a changed binding is still purged from who resolved it (issue #10 item 6)") {
  Network net;
  SimSpoke a(net.fabric, ip("198.51.100.2"), ip("10.0.0.2"));
  SimSpoke b(net.fabric, ip("198.51.100.3"), ip("10.0.0.3"));
  a.register_with_hub(1);
  b.register_with_hub(2);
  net.run();
  (void)a.take();
  (void)b.take();
  a.resolve(b.protocol, 3);
  net.run();
  CHECK(a.take().cies.at(0).code == nhrp::CieCode::Success);

  net.hub->flush();  // what the daemon does on SIGTERM
  net.start_hub();   // a new process on the same file: it knows a resolved b only from the file
  REQUIRE(net.hub->clear_registration(b.protocol).ok());  // the binding changes (operator clear)
  net.run();
  REQUIRE(a.received.size() == 1);
  const nhrp::Packet purge = a.take();
  CHECK(purge.type == nhrp::PacketType::PurgeRequest);
  REQUIRE(purge.cies.size() == 1);
  CHECK(purge.cies[0].protocol == b.protocol);
}

}  // namespace
}  // namespace advpnd::hub
