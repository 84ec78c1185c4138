// Test-local fakes for the hub's unit tests (fakes/ had no FakeLoop or
// fabric when these were written): a clock + timer factory the test moves
// by hand, a transport that records every frame the hub sends and lets the
// test inject frames and end a batch, and a fixture that wires a
// NextHopServer to them and to a FakeRegistrationStore.
//
// Every packet is built with nhrp/builders.h (Cisco and FRR dialects) and
// everything the hub sends is decoded with nhrp::decode, checksum verified.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"
#include "base/log.h"
#include "base/nbma_transport.h"
#include "db/fake_registration_store.h"
#include "hub/next_hop_server.h"
#include "hub/nhs_config.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"

namespace advpnd::hub::testing {

using Bytes = std::vector<std::byte>;
using namespace std::chrono_literals;

IpAddress ip(std::string_view text);

// ---- Clock and timers ------------------------------------------------------

// Clock + TimerFactory. Time stands still until advance(), which fires every
// timer that falls due, in deadline order, with the clock set to each
// deadline in turn (so a callback sees the time it was due at).
class FakeLoop final : public Clock, public TimerFactory {
 public:
  static constexpr std::int64_t kStartUnixSeconds = 1'700'000'000;

  FakeLoop() = default;
  FakeLoop(const FakeLoop&) = delete;
  FakeLoop& operator=(const FakeLoop&) = delete;
  ~FakeLoop() override;

  [[nodiscard]] MonotonicTime now() const override { return now_; }
  [[nodiscard]] std::int64_t unix_seconds() const override;
  [[nodiscard]] std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) override;

  void advance(Duration delay);
  // An NTP step: the wall clock jumps, monotonic time does not move.
  void step_wall_clock(std::chrono::seconds step) { wall_step_ += step.count(); }
  [[nodiscard]] std::size_t armed_timers() const;
  [[nodiscard]] std::size_t fired() const { return fired_; }

 private:
  class FakeTimer;
  friend class FakeTimer;

  MonotonicTime start_{std::chrono::hours(1000)};
  MonotonicTime now_{start_};
  std::uint64_t next_sequence_ = 0;
  std::int64_t wall_step_ = 0;
  std::size_t fired_ = 0;
  std::vector<FakeTimer*> timers_;
};

// ---- Transport -------------------------------------------------------------

struct SentFrame {
  IpAddress destination;
  std::uint16_t gre_protocol = 0;
  std::uint8_t tos = 0;
  Bytes bytes;
};

class RecordingTransport final : public NbmaTransport {
 public:
  explicit RecordingTransport(IpAddress local) : local_(local) {}

  void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
  Status<std::string> send(const IpAddress& destination, std::uint16_t gre_protocol, std::span<const std::byte> payload,
                           std::uint8_t tos) override;
  [[nodiscard]] const IpAddress& local_address() const override { return local_; }
  [[nodiscard]] TransportStats stats() const override { return stats_; }

  // Test side: one received frame, then the end of the batch (one loop turn).
  void deliver(const IpAddress& outer_source, std::span<const std::byte> payload,
               std::uint16_t gre_protocol = nhrp::kGreProtocolNhrp);
  void end_batch();
  [[nodiscard]] bool has_handlers() const { return handlers_.on_frame && handlers_.on_batch_end; }

  std::vector<SentFrame> sent;
  bool fail_sends = false;

 private:
  IpAddress local_;
  Handlers handlers_;
  TransportStats stats_;
};

// ---- Log capture -----------------------------------------------------------

struct LogLine {
  log::Level level = log::Level::Info;
  std::string component;
  std::string text;
};

// Captures every log line for its lifetime (and keeps the test output clean).
class LogCapture {
 public:
  LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  ~LogCapture();

  [[nodiscard]] std::size_t count(log::Level level, std::string_view containing) const;
  std::vector<LogLine> lines;
};

// ---- Stations --------------------------------------------------------------

inline const IpAddress kHubNbma = IpAddress::v4(203, 0, 113, 1);
inline const IpAddress kHubProtocol = IpAddress::v4(10, 0, 0, 1);

struct Spoke {
  IpAddress nbma;      // claimed in NHRP (Source NBMA Address)
  IpAddress protocol;  // tunnel address
  IpAddress outer;     // outer IP source as the hub sees it (post-NAT)
  nhrp::Dialect dialect = nhrp::Dialect::Cisco;
  std::optional<std::string> password;

  [[nodiscard]] nhrp::Sender sender() const { return {nbma, protocol, dialect, password}; }
  [[nodiscard]] Spoke with_dialect(nhrp::Dialect d) const {
    Spoke s = *this;
    s.dialect = d;
    return s;
  }
  [[nodiscard]] Spoke with_password(std::string p) const {
    Spoke s = *this;
    s.password = std::move(p);
    return s;
  }
};

// A station: claimed NBMA, tunnel address, and the outer source the hub sees.
[[nodiscard]] inline Spoke station(IpAddress nbma, IpAddress protocol, IpAddress outer) {
  Spoke spoke;
  spoke.nbma = nbma;
  spoke.protocol = protocol;
  spoke.outer = outer;
  return spoke;
}

inline const Spoke kSpokeA =
    station(IpAddress::v4(198, 51, 100, 2), IpAddress::v4(10, 0, 0, 2), IpAddress::v4(198, 51, 100, 2));
inline const Spoke kSpokeB =
    station(IpAddress::v4(198, 51, 100, 3), IpAddress::v4(10, 0, 0, 3), IpAddress::v4(198, 51, 100, 3));
inline const Spoke kSpokeC =
    station(IpAddress::v4(198, 51, 100, 4), IpAddress::v4(10, 0, 0, 4), IpAddress::v4(198, 51, 100, 4));
// Behind NAT: claims a private NBMA, seen from a public one.
inline const Spoke kNatted =
    station(IpAddress::v4(192, 168, 1, 10), IpAddress::v4(10, 0, 0, 5), IpAddress::v4(198, 51, 100, 20));

[[nodiscard]] NhsConfig hub_config(nhrp::Dialect dialect = nhrp::Dialect::Cisco);

[[nodiscard]] nhrp::RegistrationRequestSpec registration(const Spoke& spoke, std::uint32_t request_id,
                                                         std::uint16_t holding_time = 7200, bool unique = true);
[[nodiscard]] nhrp::ResolutionRequestSpec resolution(const Spoke& spoke, const IpAddress& target,
                                                     std::uint32_t request_id);

[[nodiscard]] Bytes encode_ok(const nhrp::Packet& packet);
[[nodiscard]] nhrp::Packet decode_ok(std::span<const std::byte> bytes);
[[nodiscard]] std::vector<std::uint16_t> extension_types(const nhrp::Packet& packet);

// ---- Fixture ---------------------------------------------------------------

struct HubFixture {
  explicit HubFixture(NhsConfig cfg = hub_config(), bool start_now = true);
  HubFixture(const HubFixture&) = delete;
  HubFixture& operator=(const HubFixture&) = delete;
  ~HubFixture();

  LogCapture logs;
  FakeLoop loop;
  RecordingTransport transport{kHubNbma};
  db::FakeRegistrationStore store;
  NhsConfig config;
  std::unique_ptr<NextHopServer> hub;

  void start();
  // A fresh NextHopServer on the same store, clock and transport (a restart).
  void restart();

  // One frame from `from` (its outer address), without ending the batch.
  void receive(const Spoke& from, const nhrp::Packet& packet);
  void receive_bytes(const IpAddress& outer_source, std::span<const std::byte> bytes);
  void end_batch() { transport.end_batch(); }

  // Registration Request + end of batch; returns the decoded reply.
  nhrp::Packet register_spoke(const Spoke& spoke, std::uint16_t holding_time = 7200, bool unique = true);

  // Everything sent so far, decoded (checksum verified); then forgotten.
  std::vector<nhrp::Packet> take_sent();
  // Exactly one packet was sent: it, decoded; the sent list is cleared.
  nhrp::Packet take_one();

  [[nodiscard]] std::vector<db::AuditEvent> audit();
  [[nodiscard]] std::size_t audit_count(db::AuditKind kind);
  [[nodiscard]] const db::Binding* cached(const Spoke& spoke, std::uint8_t prefix = 32) const;

  std::uint32_t next_id = 100;
};

}  // namespace advpnd::hub::testing

namespace doctest {
template <>
struct StringMaker<advpnd::IpAddress> {
  static String convert(const advpnd::IpAddress& a) { return a.empty() ? "<empty>" : a.to_string().c_str(); }
};
}  // namespace doctest
