// The Next Hop Server (RFC 2332 5.2, 5.3): registrations into SQLite with
// group commit, resolutions from the committed cache or forwarded to the
// spoke owning a covering prefix, purges, Error Indications.
//
// Life of a batch (one read of the transport, one loop turn):
//   on_frame() x N   decode, check, decide; registrations are *staged* in the
//                    store and in open_, their replies held with it
//   on_batch_end()   open_ is handed to the store (commit_async) and joins
//                    in_flight_; the loop goes on with the next frames
//   commit done      (the store's completion, in hand-over order) success ->
//                    the batch is applied to the cache, replies sent; failure
//                    -> its registrations are answered with code 5
//                    (insufficient resources), nothing applied
// The event loop never waits on the disk (issue #10 item 7). Decisions see
// the effect of every batch still in flight (effective_bindings), so a second
// batch touching the same key builds on the first; should the first fail, the
// second's operations are still whole upserts/removals of their own keys.
// Resolutions read only the committed cache, so their replies go out at once.
//
// Time: expiry runs on the monotonic clock (steady_unix_seconds()): unix
// seconds read once at construction and advanced by monotonic time since, so
// an NTP step does not expire (or extend) every binding at once. The wall
// clock only anchors the absolute expiry times stored for the next start.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/ipsec_peers.h"
#include "base/nbma_transport.h"
#include "db/registration_store.h"
#include "hub/binding_cache.h"
#include "hub/hub_stats.h"
#include "hub/log_throttle.h"
#include "hub/nhs_config.h"
#include "hub/redirect_policy.h"
#include "nhrp/codec.h"

namespace advpnd::hub {

class NextHopServer {
 public:
  NextHopServer(NhsConfig config, NbmaTransport& transport, db::RegistrationStore& store, const Clock& clock,
                TimerFactory& timers);
  NextHopServer(const NextHopServer&) = delete;
  NextHopServer& operator=(const NextHopServer&) = delete;

  // Loads every unexpired binding from the store (served at once, before any
  // spoke re-registers), takes the transport's handlers, arms the sweep.
  [[nodiscard]] Status<std::string> start();

  // Transport callbacks (public for tests that drive the server directly).
  void on_frame(const NbmaFrame& frame);
  void on_batch_end();
  // Hands over whatever is staged, resolver records included (the sweep,
  // and the daemon before it stops).
  void flush();

  // Expires bindings (RFC 2332 5.2.3 holding time) and purges their resolvers,
  // once the store has deleted them (on its thread; the loop does not wait).
  void sweep();
  // advpnctl `clear registration ADDR`: removes every binding of the address,
  // in one commit that the call waits for (an operator command: rare), and
  // returns how many. With batches still in flight, the cache changes when
  // their turn has come.
  [[nodiscard]] Result<std::size_t, std::string> clear_registration(const IpAddress& protocol);
  // SIGHUP: limits, timers, auth and redirect rate change; addresses do not.
  void reconfigure(const NhsConfig& config);
  // Frames that are not NHRP (GRE 0x0800/0x86DD) go here: the hub's
  // user-space dataplane. Without one they are counted and dropped.
  void set_data_frame_handler(std::function<void(const NbmaFrame&)> handler) { on_data_ = std::move(handler); }
  // Resolution along routes (hub/resolution.cpp): the overlay next hop the
  // routing table gives for a destination no binding covers (a BGP next
  // hop: a spoke that registered only its /32, or another NHS), or nullopt.
  using RouteNextHop = std::function<std::optional<IpAddress>(const IpAddress& destination)>;
  void set_route_next_hop(RouteNextHop next_hop) { route_next_hop_ = std::move(next_hop); }

  // Packets addressed to this hub as a *client* of the tier above
  // (Registration and Purge Replies to its own requests, Error Indications
  // about them): the upstream registration (node/hub_node.cpp) takes them
  // when it returns true; otherwise they are counted as unexpected.
  using ClientPacketHandler = std::function<bool(const NbmaFrame&, const nhrp::Packet&)>;
  void set_client_packet_handler(ClientPacketHandler handler) { on_client_packet_ = std::move(handler); }
  // The NBMA address an overlay address is reached at: the binding it
  // registered (post-NAT), else an upstream NHS's configured address.
  [[nodiscard]] std::optional<IpAddress> nbma_of_overlay(const IpAddress& overlay) const;
  // Issue #12 part 2: the IKE_SAs of the hub's own charon (vici/sa_watcher.h).
  // With it, NHRP from a source without an established IKE_SA is dropped
  // (refused_no_sa) and every registration is bound to the SA's identity
  // (identity_refusal); nullptr (provider "none"): today's behaviour. The
  // peers must outlive this server.
  void set_ipsec_peers(const IpsecPeers* peers) { peers_ = peers; }

  [[nodiscard]] const BindingCache& cache() const { return cache_; }
  [[nodiscard]] const HubStats& stats() const { return stats_; }
  [[nodiscard]] RedirectPolicy& redirect() { return redirect_; }
  [[nodiscard]] const NhsConfig& config() const { return config_; }
  [[nodiscard]] bool store_healthy() const { return store_healthy_; }
  // Batches handed to the store whose result has not come back yet.
  [[nodiscard]] std::size_t batches_in_flight() const { return in_flight_.size(); }

 private:
  struct PendingReply {
    IpAddress destination;
    nhrp::Packet reply;
    bool registration = false;  // becomes code 5 if the commit fails
  };
  // Who was given a binding, until when: they get a Purge Request when it
  // goes (5.2.5). One entry per requester NBMA and binding, refreshed by
  // repeated requests; at most kMaxResolvers in all (memory stays bounded;
  // beyond it, requesters are counted and logged, throttled, not tracked).
  // Persisted (db::ResolverRecord, in the next group commit) whenever `until`
  // moves past what the store holds, so a restarted hub still purges them;
  // repeated resolutions of an unchanged binding write nothing.
  struct Resolver {
    IpAddress protocol;
    std::int64_t until = 0;
    std::int64_t stored_until = 0;
  };
  static constexpr std::size_t kMaxResolvers = 250'000;
  // Resolver records alone are committed once this many are staged (or by
  // the sweep, every sweep_interval): a resolution burst costs a commit per
  // kResolverFlushBatch requesters, not one per loop turn. A kill -9 loses
  // at most these (their requesters are then not purged after the restart).
  static constexpr std::size_t kResolverFlushBatch = 4096;
  // Expired resolver entries are dropped a slice per sweep, so a sweep
  // never stalls the loop however many there are.
  static constexpr std::size_t kResolverSweepSlice = 4096;
  void finish_sweep(const db::RegistrationStore::SweepResult& result);
  void sweep_resolver_slice(std::int64_t now);
  bool sweep_in_flight_ = false;
  // Returns false when the table is full (then counted and logged).
  bool remember_resolver(const db::BindingKey& key, const IpAddress& nbma, const IpAddress& protocol,
                         std::int64_t until, std::int64_t stored_until);
  struct OutstandingPurge {
    IpAddress destination;
    nhrp::Packet request;
    int attempts = 0;
    MonotonicTime next_try{};
  };

  void handle(const NbmaFrame& frame, nhrp::Packet& packet);
  void handle_registration(const NbmaFrame& frame, const nhrp::Packet& request);
  // One CIE of a Registration Request (RFC 2332 5.2.3, 5.2.4): decides, and
  // stages the binding or sets the refusal's code in `cie`.
  void register_cie(const NbmaFrame& frame, const nhrp::Packet& request, nhrp::Cie& cie, std::int64_t now,
                    const std::optional<std::string>& request_refused);
  void refuse_cie(const NbmaFrame& frame, const nhrp::Packet& request, nhrp::Cie& cie, const db::BindingKey& key,
                  nhrp::CieCode code, const std::string& reason);
  void refuse_oversize(const NbmaFrame& frame, const nhrp::Packet& request, std::vector<nhrp::Cie>& answers);

  // Trust (issue #12, registration_policy.cpp): the hub's address policy.
  // Each returns why the registration is refused, nullopt when it may go on.
  // The request's own (source) protocol address.
  [[nodiscard]] std::optional<std::string> source_refusal(const nhrp::Packet& request) const;
  // What this protocol address and prefix may be, whoever registers it.
  [[nodiscard]] std::optional<std::string> address_refusal(const IpAddress& protocol, std::uint8_t prefix) const;
  // A prefix overlapping one that another spoke holds (unexpired, as it
  // will be once every batch commits); the same spoke's are its own business.
  [[nodiscard]] std::optional<std::string> overlap_refusal(const db::BindingKey& key, const IpAddress& outer,
                                                           std::int64_t now) const;
  // What the IKE identity behind the request may register (identity_policy.cpp).
  [[nodiscard]] std::optional<std::string> identity_refusal(const IpsecPeer& peer, const db::BindingKey& key,
                                                            std::int64_t now) const;
  [[nodiscard]] const IdentityPolicy* policy_of(const std::string& identity) const;
  // max_bindings_per_spoke, or the identity's own max_bindings.
  [[nodiscard]] std::size_t binding_limit(const IpsecPeer* peer) const;
  // Bindings of one outer (post-NAT) NBMA source once every batch commits.
  [[nodiscard]] std::size_t bindings_of_source(const IpAddress& outer) const;
  void handle_resolution_request(const NbmaFrame& frame, const nhrp::Packet& request);
  void handle_resolution_reply(const NbmaFrame& frame, const nhrp::Packet& reply);
  void handle_purge_request(const NbmaFrame& frame, const nhrp::Packet& request);
  void handle_purge_reply(const NbmaFrame& frame, const nhrp::Packet& reply);
  void handle_malformed(const NbmaFrame& frame, const nhrp::DecodeError& error);

  // RFC 2332 5.3: a responder refuses a compulsory extension it does not know.
  // False (counted, Error Indication sent) for an unknown compulsory extension.
  [[nodiscard]] bool extensions_understood(const NbmaFrame& frame, const nhrp::Packet& packet);
  [[nodiscard]] bool authenticated(const NbmaFrame& frame, const nhrp::Packet& packet);
  void forward_request(const nhrp::Packet& request, const IpAddress& next_hop_nbma, const NbmaFrame& frame);
  // True when the request went on along the route to `request.dst_protocol`,
  // or, with no route, up to the first upstream NHS (hierarchy).
  bool forward_along_route(const nhrp::Packet& request, const NbmaFrame& frame);

  // A batch: the writes of one loop turn and what to do once they commit.
  struct Batch {
    std::map<db::BindingKey, std::optional<db::Binding>> after;  // nullopt: removed
    std::vector<PendingReply> replies;
    std::vector<db::Binding> gone;  // removed or replaced: purge their resolvers after commit
    std::vector<std::string> log;   // "registered ..." lines: logged once the batch is durable
    std::ptrdiff_t delta = 0;       // bindings added (+) or removed (-): the capacity check
    std::unordered_map<IpAddress, std::ptrdiff_t> per_source;  // the same per post-NAT NBMA (issue #12)
    std::optional<Status<db::StoreError>> result;              // the commit's, once known
  };
  void on_commit_done(const Status<db::StoreError>& status);
  void finish_ready_batches();
  void finish_batch(Batch& batch);
  void end_batch(bool force);
  // The newest uncommitted state of `key` (open batch, then in-flight ones,
  // newest first); nullptr when no batch touches it.
  [[nodiscard]] const std::optional<db::Binding>* staged_state(const db::BindingKey& key) const;
  // The binding of `key` once every batch commits; nullptr when there is none.
  [[nodiscard]] const db::Binding* effective_binding(const db::BindingKey& key) const;
  [[nodiscard]] bool present_after_batches(const db::BindingKey& key) const;
  [[nodiscard]] std::ptrdiff_t bindings_after_batches() const;
  // Unix seconds advanced by the monotonic clock (see the top comment).
  [[nodiscard]] std::int64_t steady_unix_seconds() const;

  // Bindings of (protocol, prefix) as they will be once every batch commits.
  [[nodiscard]] std::vector<db::Binding> effective_bindings(const IpAddress& protocol, std::uint8_t prefix) const;
  // kind nullopt: no audit row (a refresh that changed nothing).
  void stage_binding(const db::Binding& binding, std::optional<db::AuditKind> kind, const std::string& reason);
  void stage_removal(const db::Binding& binding, db::AuditKind kind, const std::string& reason);
  void stage_audit(db::AuditKind kind, const nhrp::Packet& request, const NbmaFrame& frame, const IpAddress& protocol,
                   std::uint8_t prefix, const std::string& reason);

  void send(const IpAddress& destination, const nhrp::Packet& packet);
  void send_error_indication(const IpAddress& destination, nhrp::ErrorCode code, std::uint16_t offset,
                             std::span<const std::byte> offending, const IpAddress& offending_source);
  void purge_resolvers(const db::Binding& binding);
  void retry_purges();
  void note_store_result(bool ok, const std::string& cause);
  [[nodiscard]] std::uint16_t granted_holding_time(std::uint16_t requested) const;
  [[nodiscard]] nhrp::Sender sender() const;
  [[nodiscard]] nhrp::Cie own_cie(std::uint16_t holding_time) const;

  NhsConfig config_;
  NbmaTransport& transport_;
  db::RegistrationStore& store_;
  const Clock& clock_;
  std::unique_ptr<Timer> sweep_timer_;
  std::unique_ptr<Timer> purge_timer_;
  BindingCache cache_;
  HubStats stats_;
  RedirectPolicy redirect_;
  KeyedTokenBucket<IpAddress> registration_rate_;
  KeyedTokenBucket<IpAddress> error_indication_rate_;

  Batch open_;                   // this loop turn's
  std::deque<Batch> in_flight_;  // handed to the store, oldest first
  // Completions that arrive after this server is gone do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::int64_t unix_anchor_ = 0;
  MonotonicTime monotonic_anchor_{};
  std::map<db::BindingKey, std::unordered_map<IpAddress, Resolver>> resolvers_;  // by requester NBMA
  std::size_t resolver_count_ = 0;
  db::BindingKey resolver_sweep_cursor_;              // where the next sweep slice starts
  std::map<std::uint32_t, OutstandingPurge> purges_;  // by request ID
  // Requests this hub forwarded, by (request ID, requester protocol address):
  // only their replies are relayed back (RFC 2332 5.3.3), until the
  // deadline, to the station the request came from (the reverse path: in a
  // hierarchy the requester is no binding of ours, its regional hub is).
  static constexpr std::size_t kMaxForwarded = 65536;
  static constexpr std::chrono::seconds kForwardedLifetime{30};
  struct Forwarded {
    MonotonicTime deadline{};
    IpAddress previous_hop;  // outer (post-NAT) source of the request
  };
  std::map<std::pair<std::uint32_t, IpAddress>, Forwarded> forwarded_;
  LogThrottle log_throttle_;
  std::uint32_t next_request_id_ = 1;
  bool store_healthy_ = true;
  std::function<void(const NbmaFrame&)> on_data_;
  RouteNextHop route_next_hop_;
  ClientPacketHandler on_client_packet_;
  const IpsecPeers* peers_ = nullptr;
  // The IKE_SA of the frame being handled (set by on_frame; nullptr without peers_).
  const IpsecPeer* current_peer_ = nullptr;

  nhrp::Packet decoded_;  // reused by on_frame (no allocation per packet once warm)
  std::vector<std::byte> send_buffer_;
};

}  // namespace advpnd::hub
