#include "spoke_fixture.h"

#include <algorithm>

namespace advpnd::spoke::testing {

IpAddress ip(const char* text) {
  auto parsed = IpAddress::parse(text);
  if (!parsed) throw std::runtime_error(std::string("bad address in test: ") + text);
  return *parsed;
}

TestHub::TestHub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address,
                 IpAddress protocol_address, const std::function<void(hub::NhsConfig&)>& tweak)
    : nbma(nbma_address), protocol(protocol_address) {
  auto endpoint = fabric.create_endpoint(nbma);
  REQUIRE(endpoint.ok());
  transport = std::move(endpoint).value();
  hub::NhsConfig config;
  config.nbma = nbma;
  config.protocol = protocol;
  if (tweak) tweak(config);
  assembled = std::make_unique<node::HubNode>(node::HubNodeConfig{config, {}},
                                             node::HubSeams{*transport, store, loop, loop});
  server = &assembled->nhs();
  REQUIRE(assembled->start().ok());
}

const db::Binding* TestHub::binding(const IpAddress& address) const {
  for (const auto& [key, binding] : server->cache().all()) {
    if (key.protocol == address) return &binding;
  }
  return nullptr;
}

bool TestHub::has_binding(const IpAddress& address) const { return binding(address) != nullptr; }

TestSpoke::TestSpoke(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, NhcConfig config)
    : nbma(config.nbma), protocol(config.protocol) {
  auto endpoint = fabric.create_endpoint(nbma);
  REQUIRE(endpoint.ok());
  transport = std::move(endpoint).value();
  nhc = std::make_unique<Nhc>(std::move(config), *transport, loop, loop);
}

RawStation::RawStation(fakes::InMemoryFabric& fabric, IpAddress nbma_address) : nbma(nbma_address) {
  auto endpoint = fabric.create_endpoint(nbma);
  REQUIRE(endpoint.ok());
  transport = std::move(endpoint).value();
  transport->set_handlers({[this](const NbmaFrame& frame) {
                             auto packet = nhrp::decode(frame.payload);
                             REQUIRE_MESSAGE(packet.ok(), "a station received an undecodable packet");
                             received.push_back(*packet);
                           },
                           [] {}});
}

void RawStation::send(const IpAddress& to, const nhrp::Packet& packet) {
  auto bytes = nhrp::encode(packet);
  REQUIRE(bytes.ok());
  send_bytes(to, *bytes);
}

void RawStation::send_bytes(const IpAddress& to, std::span<const std::byte> bytes, std::uint16_t gre) {
  REQUIRE(transport->send(to, gre, bytes, 0xC0).ok());
}

NhcConfig spoke_config(IpAddress nbma, IpAddress protocol, std::vector<NhsEntry> servers) {
  NhcConfig config;
  config.nbma = nbma;
  config.protocol = protocol;
  config.holding_time = 600;
  config.servers = std::move(servers);
  config.jitter = 0.0;
  return config;
}

Network::Network() : fabric(loop), start_(loop.now()) {
  fabric.set_observer([this](const fakes::FabricRecord& record) {
    if (record.gre_protocol != nhrp::kGreProtocolNhrp) return;
    auto packet = nhrp::decode(record.payload);
    if (!packet.ok()) {
      undecodable_from.push_back(record.sender);  // checked when the network goes
      return;
    }
    wire.push_back(WireRecord{loop.now(), record.sender, record.outer_source, record.destination,
                              Bytes(record.payload.begin(), record.payload.end()), *packet});
  });
  log::set_sink([this](log::Level, std::string_view component, std::string_view text) {
    log_lines.push_back(std::string(component) + ": " + std::string(text));
  });
}

Network::~Network() {
  // Only stations a test drives by hand may put undecodable bytes on the wire.
  for (const IpAddress& sender : undecodable_from) {
    const bool station =
        std::any_of(stations_.begin(), stations_.end(), [&](const auto& s) { return s->nbma == sender; });
    CHECK_MESSAGE(station, (std::string("undecodable packet on the wire from ") + sender.to_string()));
  }
  spokes_.clear();
  stations_.clear();
  hubs_.clear();
  fabric.set_observer({});
  log::set_sink({});
}

TestHub& Network::add_hub(IpAddress nbma, IpAddress protocol, const std::function<void(hub::NhsConfig&)>& tweak) {
  hubs_.push_back(std::make_unique<TestHub>(fabric, loop, nbma, protocol, tweak));
  return *hubs_.back();
}

TestSpoke& Network::add_spoke(NhcConfig config) {
  spokes_.push_back(std::make_unique<TestSpoke>(fabric, loop, std::move(config)));
  auto started = spokes_.back()->nhc->start();
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? std::string() : started.error()));
  return *spokes_.back();
}

RawStation& Network::add_station(IpAddress nbma) {
  stations_.push_back(std::make_unique<RawStation>(fabric, nbma));
  return *stations_.back();
}

std::vector<WireRecord> Network::sent(const IpAddress& sender, nhrp::PacketType type) const {
  std::vector<WireRecord> out;
  std::copy_if(wire.begin(), wire.end(), std::back_inserter(out),
               [&](const WireRecord& r) { return r.sender == sender && r.packet.type == type; });
  return out;
}

bool Network::logged(const std::string& needle) const {
  return std::any_of(log_lines.begin(), log_lines.end(),
                     [&](const std::string& line) { return line.find(needle) != std::string::npos; });
}

}  // namespace advpnd::spoke::testing
