// InMemoryFabric: the test double of the NBMA network. Each FabricTransport
// endpoint is an NbmaTransport at one NBMA address; send() queues the frame
// and the fabric delivers it later, so a reply is never delivered inside the
// send() that caused it (as on a real network). Deterministic and
// single-threaded: frames are delivered in send order, grouped per receiver,
// and each receiver gets on_batch_end once after its frames of that round.
//
// Delivery is driven either by hand (deliver_all()/deliver_round()) or, when
// built with a FakeLoop, by tasks posted to that loop, so loop.advance() and
// loop.run_until_idle() move frames like a zero-latency wire.
//
// What the wire can do to a frame:
//   NAT      add_nat(inner, public): frames from `inner` arrive with outer
//            source `public`, and frames sent to `public` reach `inner`
//            (a 1:1 static NAT, which is how NHRP sees a spoke behind NAT:
//            NHRP-WIRE.md 7.6). The NAT applies to every frame from `inner`.
//   link     set_link_down(addr): frames from or to `addr` are dropped at
//            delivery time until set_link_up(addr).
//   GRE key  endpoints have an optional key; a frame whose key differs from
//            the receiver's is dropped and counted, as RawGreTransport does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/nbma_transport.h"
#include "fakes/fake_loop.h"

namespace advpnd::fakes {

class InMemoryFabric;

struct FabricStats {
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_delivered = 0;
  std::uint64_t dropped_link_down = 0;
  std::uint64_t dropped_no_endpoint = 0;  // nobody at the destination (or NAT public) address
  std::uint64_t dropped_wrong_key = 0;
  std::uint64_t callback_exceptions = 0;
};

// What a sender put on the wire, as the fabric's observer sees it at send().
struct FabricRecord {
  IpAddress sender;        // the endpoint's own address
  IpAddress outer_source;  // after NAT
  IpAddress destination;   // as addressed by the sender
  std::uint16_t gre_protocol = 0;
  std::uint8_t tos = 0;
  std::optional<std::uint32_t> gre_key;
  std::span<const std::byte> payload;  // valid during the observer call only
};

class FabricTransport final : public NbmaTransport {
 public:
  ~FabricTransport() override;
  FabricTransport(const FabricTransport&) = delete;
  FabricTransport& operator=(const FabricTransport&) = delete;

  void set_handlers(Handlers handlers) override;
  // Fails for an empty destination, one of another family than ours, or
  // once the fabric is gone. A frame to nobody is sent and dropped later.
  Status<std::string> send(const IpAddress& destination, std::uint16_t gre_protocol, std::span<const std::byte> payload,
                           std::uint8_t tos) override;
  [[nodiscard]] const IpAddress& local_address() const override { return address_; }
  [[nodiscard]] TransportStats stats() const override { return stats_; }
  [[nodiscard]] std::optional<std::uint32_t> gre_key() const { return gre_key_; }

 private:
  friend class InMemoryFabric;
  FabricTransport(InMemoryFabric& fabric, IpAddress address, std::optional<std::uint32_t> gre_key);

  InMemoryFabric* fabric_;  // null once the fabric is destroyed
  IpAddress address_;
  std::optional<std::uint32_t> gre_key_;
  std::shared_ptr<const Handlers> handlers_;
  TransportStats stats_;
};

class InMemoryFabric {
 public:
  // Manual delivery: call deliver_all() or deliver_round().
  InMemoryFabric();
  // Deliveries are posted to `loop` (which must outlive the fabric's use).
  explicit InMemoryFabric(FakeLoop& loop);
  ~InMemoryFabric();
  InMemoryFabric(const InMemoryFabric&) = delete;
  InMemoryFabric& operator=(const InMemoryFabric&) = delete;

  // One endpoint per address; fails for an empty or already used address.
  [[nodiscard]] Result<std::unique_ptr<FabricTransport>, std::string> create_endpoint(
      const IpAddress& address, std::optional<std::uint32_t> gre_key = std::nullopt);

  // Fails when `inner` or `public_address` is already part of a mapping.
  Status<std::string> add_nat(const IpAddress& inner, const IpAddress& public_address);
  void remove_nat(const IpAddress& inner);

  void set_link_down(const IpAddress& address);
  void set_link_up(const IpAddress& address);
  [[nodiscard]] bool link_down(const IpAddress& address) const { return down_.contains(address); }

  // Delivers the frames queued now (not those their handlers send); returns
  // the frames delivered.
  std::size_t deliver_round();
  // Delivers rounds until nothing is queued, at most `max_rounds` (a guard
  // against two endpoints answering each other forever).
  std::size_t deliver_all(std::size_t max_rounds = 10'000);

  [[nodiscard]] std::size_t pending() const { return queue_.size(); }
  [[nodiscard]] const FabricStats& stats() const { return stats_; }
  // Called for every frame at send(); pass {} to remove.
  void set_observer(std::function<void(const FabricRecord&)> observer) { observer_ = std::move(observer); }

 private:
  friend class FabricTransport;
  struct Pending {
    IpAddress sender;
    IpAddress outer_source;
    IpAddress destination;
    std::uint16_t gre_protocol = 0;
    std::uint8_t tos = 0;
    std::optional<std::uint32_t> gre_key;
    std::vector<std::byte> payload;
  };

  void enqueue(const FabricTransport& from, const IpAddress& destination, std::uint16_t gre_protocol,
               std::span<const std::byte> payload, std::uint8_t tos);
  // The endpoint address a frame to `destination` reaches (NAT applied), if any.
  [[nodiscard]] std::optional<IpAddress> receiver_of(const IpAddress& destination) const;
  // Delivers one frame to `to`; true if on_frame ran.
  bool deliver(const Pending& frame, const IpAddress& to);
  void schedule();

  FakeLoop* loop_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for tasks posted to the loop
  bool delivery_posted_ = false;
  std::map<IpAddress, FabricTransport*> endpoints_;
  std::map<IpAddress, IpAddress> nat_public_of_;  // inner -> public
  std::map<IpAddress, IpAddress> nat_inner_of_;   // public -> inner
  std::set<IpAddress> down_;
  std::vector<Pending> queue_;
  FabricStats stats_;
  std::function<void(const FabricRecord&)> observer_;
};

}  // namespace advpnd::fakes
