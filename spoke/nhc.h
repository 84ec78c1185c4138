// The Next Hop Client facade: owns the spoke's NHRP parts and the
// transport's receive side. Every received frame is decoded (checksum
// verified), authenticated when a password is configured, and dispatched
// by packet type through one table:
//
//   Registration Reply  -> NhsSet (by request ID)      -> NhsRegistration
//   Purge Reply         -> NhsSet (by request ID)
//   Resolution Reply    -> ResolutionClient (by request ID)
//   Error Indication    -> whoever owns the quoted request ID
//   Resolution Request  -> Responder
//   Purge Request       -> Responder, then the purge hook
//   Traffic Indication  -> the hook the shortcut layer sets
//   Registration Request-> counted, dropped (a spoke is no NHS)
//
// Malformed packets are counted by decode error; nothing is ever answered
// with an Error Indication from a spoke (no reflector), a deliberate
// departure from FRR, which answers authentication failures with code 11.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/nbma_transport.h"
#include "base/result.h"
#include "nhrp/builders.h"
#include "nhrp/packet.h"
#include "spoke/local_prefix.h"
#include "spoke/nhs_set.h"
#include "spoke/packet_sender.h"
#include "spoke/request_ids.h"
#include "spoke/resolution_client.h"
#include "spoke/responder.h"

namespace advpnd::spoke {

struct NhcConfig {
  IpAddress nbma;      // own NBMA (pre-NAT); empty: the transport's local address
  IpAddress protocol;  // own tunnel address
  nhrp::Dialect dialect = nhrp::Dialect::Cisco;
  std::optional<std::string> auth_password;  // Cisco cleartext, at most 8 bytes
  std::uint16_t holding_time = nhrp::kDefaultHoldingTime;
  std::optional<std::chrono::seconds> registration_timeout;  // see RegistrationConfig
  std::uint16_t mtu = 0;
  bool unique = true;
  bool fixed_request_id = false;
  std::vector<NhsEntry> servers;
  std::vector<LocalPrefix> local_prefixes;  // answered by the responder
  bool register_local_prefixes = false;     // and registered at every NHS
  std::size_t max_outstanding_resolutions = 256;
  TokenRate resolution_rate{10.0, 20.0};
  double jitter = kDefaultJitter;
  std::uint64_t seed = 1;
};

// A Traffic Indication ("NHRP redirect", NHRP-WIRE.md 5) from one of our
// NHSs: traffic from inner_source to inner_destination went through the
// hub; the shortcut layer decides whether to resolve inner_destination.
struct TrafficIndication {
  IpAddress nhs_nbma;
  IpAddress nhs_protocol;
  std::uint16_t traffic_code = 0;
  IpAddress inner_source;
  IpAddress inner_destination;
  std::span<const std::byte> inner_packet;  // valid during the callback only
};

class Nhc {
 public:
  using IndicationHandler = std::function<void(const TrafficIndication&)>;
  using PurgeHandler = std::function<void(const PurgedBinding&)>;
  using DataHandler = std::function<void(const NbmaFrame&)>;

  Nhc(NhcConfig config, NbmaTransport& transport, const Clock& clock, TimerFactory& timers);
  // Gives the transport's handlers back (they point at this object).
  ~Nhc();
  Nhc(const Nhc&) = delete;
  Nhc& operator=(const Nhc&) = delete;

  // Checks the configuration, takes the transport's handlers and registers
  // with every NHS.
  [[nodiscard]] Status<std::string> start();
  // Clean shutdown: purges our binding at the peers we answered
  // (Responder::purge_answered), then our registrations (bounded wait),
  // and runs `done`.
  void shutdown(std::function<void()> done);

  void resolve(const IpAddress& target, ResolveCallback done) { resolution_.resolve(target, std::move(done)); }

  void set_traffic_indication_handler(IndicationHandler handler) { on_indication_ = std::move(handler); }
  void set_purge_handler(PurgeHandler handler) { on_purge_ = std::move(handler); }
  // RFC 2332 5.2.5: a Purge Request comes from the station that gave us the
  // information: an NHS, or a peer we resolved or answered. Purges from our
  // NHSs and from peers in the responder's cache are always taken; from
  // anyone else only if this says the source is such a peer (a shortcut's).
  // Others are counted and dropped, unanswered: no one else can tear down
  // our shortcuts.
  using PurgeAuthorizer = std::function<bool(const IpAddress& source_nbma)>;
  void set_purge_authorizer(PurgeAuthorizer authorizer) { purge_authorizer_ = std::move(authorizer); }
  // Frames that are not NHRP (GRE 0x0800/0x86DD): the user-space dataplane's.
  void set_data_frame_handler(DataHandler handler) { on_data_ = std::move(handler); }

  // The transport callback (public for tests that drive the NHC directly).
  void on_frame(const NbmaFrame& frame);

  // SIGHUP: one more NHS (refused when of another family), and a new
  // Cisco password (checked on what arrives, sent with what leaves).
  [[nodiscard]] Status<std::string> add_server(const NhsEntry& entry);
  void set_auth_password(const std::optional<std::string>& password);

  [[nodiscard]] NhsSet& servers() { return servers_; }
  [[nodiscard]] const NhsSet& servers() const { return servers_; }
  [[nodiscard]] ResolutionClient& resolution() { return resolution_; }
  [[nodiscard]] const Responder& responder() const { return responder_; }
  [[nodiscard]] Responder& responder() { return responder_; }
  [[nodiscard]] const NhcStats& stats() const { return stats_; }
  [[nodiscard]] const NhcConfig& config() const { return config_; }

 private:
  using Handler = void (Nhc::*)(const NbmaFrame&, const nhrp::Packet&);
  [[nodiscard]] static Handler handler_for(nhrp::PacketType type);

  void handle_registration_reply(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_purge_reply(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_resolution_reply(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_error_indication(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_resolution_request(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_purge_request(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_traffic_indication(const NbmaFrame& frame, const nhrp::Packet& packet);
  void handle_unexpected(const NbmaFrame& frame, const nhrp::Packet& packet);
  [[nodiscard]] bool authenticated(const NbmaFrame& frame, const nhrp::Packet& packet);

  NhcConfig config_;
  NbmaTransport& transport_;
  NhcStats stats_;
  PacketSender sender_;
  RequestIds ids_;
  NhsSet servers_;
  ResolutionClient resolution_;
  Responder responder_;
  PurgeAuthorizer purge_authorizer_;
  IndicationHandler on_indication_;
  PurgeHandler on_purge_;
  DataHandler on_data_;
  bool started_ = false;
  nhrp::Packet decoded_;  // reused: no allocation per packet once warm
};

}  // namespace advpnd::spoke
