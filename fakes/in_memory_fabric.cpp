#include "fakes/in_memory_fabric.h"

#include <exception>
#include <string>

#include "base/log.h"

namespace advpnd::fakes {
namespace {

// The fabric is the event-loop boundary for the handlers it calls: like the
// real transport, one throwing handler must not lose the rest of the batch.
template <class Fn, class... Args>
bool call_handler(Fn& fn, std::uint64_t& exceptions, Args&&... args) noexcept {
  try {
    fn(std::forward<Args>(args)...);
    return true;
  } catch (const std::exception& e) {
    log::error("fabric", std::string("handler threw: ") + e.what());
  } catch (...) {
    log::error("fabric", "handler threw a non-std exception");
  }
  ++exceptions;
  return false;
}

}  // namespace

// --- FabricTransport -------------------------------------------------------

FabricTransport::FabricTransport(InMemoryFabric& fabric, IpAddress address, std::optional<std::uint32_t> gre_key)
    : fabric_(&fabric), address_(address), gre_key_(gre_key), handlers_(std::make_shared<const Handlers>()) {}

FabricTransport::~FabricTransport() {
  if (fabric_ != nullptr) fabric_->endpoints_.erase(address_);
}

void FabricTransport::set_handlers(Handlers handlers) {
  handlers_ = std::make_shared<const Handlers>(std::move(handlers));
}

Status<std::string> FabricTransport::send(const IpAddress& destination, std::uint16_t gre_protocol,
                                          std::span<const std::byte> payload, std::uint8_t tos) {
  if (fabric_ == nullptr) {
    ++stats_.send_errors;
    return fail("fabric send from " + address_.to_string() + ": the fabric is gone");
  }
  if (destination.empty() || destination.family() != address_.family()) {
    ++stats_.send_errors;
    return fail("fabric send from " + address_.to_string() + ": destination '" + destination.to_string() +
                "' is not of our address family");
  }
  ++stats_.frames_sent;
  fabric_->enqueue(*this, destination, gre_protocol, payload, tos);
  return {};
}

// --- InMemoryFabric --------------------------------------------------------

InMemoryFabric::InMemoryFabric() = default;

InMemoryFabric::InMemoryFabric(FakeLoop& loop) : loop_(&loop) {}

InMemoryFabric::~InMemoryFabric() {
  *alive_ = false;
  for (auto& [address, endpoint] : endpoints_) endpoint->fabric_ = nullptr;
}

Result<std::unique_ptr<FabricTransport>, std::string> InMemoryFabric::create_endpoint(
    const IpAddress& address, std::optional<std::uint32_t> gre_key) {
  if (address.empty()) return fail(std::string("InMemoryFabric: an endpoint needs an address"));
  if (endpoints_.contains(address)) {
    return fail("InMemoryFabric: address " + address.to_string() + " already has an endpoint");
  }
  std::unique_ptr<FabricTransport> endpoint(new FabricTransport(*this, address, gre_key));
  endpoints_.emplace(address, endpoint.get());
  return endpoint;
}

Status<std::string> InMemoryFabric::add_nat(const IpAddress& inner, const IpAddress& public_address) {
  if (nat_public_of_.contains(inner) || nat_inner_of_.contains(public_address)) {
    return fail("InMemoryFabric: NAT " + inner.to_string() + " -> " + public_address.to_string() +
                " overlaps an existing mapping");
  }
  nat_public_of_.emplace(inner, public_address);
  nat_inner_of_.emplace(public_address, inner);
  return {};
}

void InMemoryFabric::remove_nat(const IpAddress& inner) {
  const auto it = nat_public_of_.find(inner);
  if (it == nat_public_of_.end()) return;
  nat_inner_of_.erase(it->second);
  nat_public_of_.erase(it);
}

void InMemoryFabric::set_link_down(const IpAddress& address) { down_.insert(address); }

void InMemoryFabric::set_link_up(const IpAddress& address) { down_.erase(address); }

void InMemoryFabric::enqueue(const FabricTransport& from, const IpAddress& destination, std::uint16_t gre_protocol,
                             std::span<const std::byte> payload, std::uint8_t tos) {
  Pending frame;
  frame.sender = from.address_;
  const auto nat = nat_public_of_.find(from.address_);
  frame.outer_source = nat != nat_public_of_.end() ? nat->second : from.address_;
  frame.destination = destination;
  frame.gre_protocol = gre_protocol;
  frame.tos = tos;
  frame.gre_key = from.gre_key_;
  frame.payload.assign(payload.begin(), payload.end());
  ++stats_.frames_sent;
  if (observer_) {
    const FabricRecord record{frame.sender, frame.outer_source, frame.destination, frame.gre_protocol,
                              frame.tos,    frame.gre_key,      frame.payload};
    call_handler(observer_, stats_.callback_exceptions, record);
  }
  queue_.push_back(std::move(frame));
  schedule();
}

void InMemoryFabric::schedule() {
  if (loop_ == nullptr || delivery_posted_) return;
  delivery_posted_ = true;
  loop_->post([this, alive = alive_] {
    if (!*alive) return;
    delivery_posted_ = false;
    deliver_round();
  });
}

std::optional<IpAddress> InMemoryFabric::receiver_of(const IpAddress& destination) const {
  if (endpoints_.contains(destination)) return destination;
  const auto nat = nat_inner_of_.find(destination);  // the NAT rewrites the destination to the inner address
  if (nat != nat_inner_of_.end()) return nat->second;
  return std::nullopt;
}

bool InMemoryFabric::deliver(const Pending& frame, const IpAddress& to) {
  const auto it = endpoints_.find(to);
  if (it == endpoints_.end()) {  // destroyed by an earlier handler of this round
    ++stats_.dropped_no_endpoint;
    return false;
  }
  if (down_.contains(frame.sender) || down_.contains(to)) {
    ++stats_.dropped_link_down;
    return false;
  }
  FabricTransport& endpoint = *it->second;
  if (frame.gre_key != endpoint.gre_key_) {  // RFC 2890 2.1, as RawGreTransport
    ++stats_.dropped_wrong_key;
    ++endpoint.stats_.dropped_wrong_key;
    return false;
  }
  ++stats_.frames_delivered;
  ++endpoint.stats_.frames_received;
  const std::shared_ptr<const NbmaTransport::Handlers> handlers = endpoint.handlers_;  // endpoint may die inside
  if (!handlers->on_frame) return false;
  NbmaFrame delivered;
  delivered.outer_source = frame.outer_source;
  delivered.outer_destination = to;
  delivered.gre_protocol = frame.gre_protocol;
  delivered.tos = frame.tos;
  delivered.payload = frame.payload;
  call_handler(handlers->on_frame, stats_.callback_exceptions, delivered);
  return true;
}

std::size_t InMemoryFabric::deliver_round() {
  std::vector<Pending> round;
  round.swap(queue_);
  // Receivers in the order of their first frame; frames in send order.
  std::vector<IpAddress> order;
  std::map<IpAddress, std::vector<std::size_t>> frames_of;
  for (std::size_t i = 0; i < round.size(); ++i) {
    const auto to = receiver_of(round[i].destination);
    if (!to) {
      ++stats_.dropped_no_endpoint;
      continue;
    }
    auto [it, inserted] = frames_of.try_emplace(*to);
    if (inserted) order.push_back(*to);
    it->second.push_back(i);
  }
  std::size_t delivered = 0;
  for (const IpAddress& to : order) {
    std::size_t batch = 0;
    for (std::size_t i : frames_of[to]) {
      if (deliver(round[i], to)) ++batch;
    }
    delivered += batch;
    const auto it = endpoints_.find(to);
    if (batch == 0 || it == endpoints_.end()) continue;
    const std::shared_ptr<const NbmaTransport::Handlers> handlers = it->second->handlers_;
    if (handlers->on_batch_end) call_handler(handlers->on_batch_end, stats_.callback_exceptions);
  }
  return delivered;
}

std::size_t InMemoryFabric::deliver_all(std::size_t max_rounds) {
  std::size_t delivered = 0;
  for (std::size_t round = 0; round < max_rounds && !queue_.empty(); ++round) delivered += deliver_round();
  return delivered;
}

}  // namespace advpnd::fakes
