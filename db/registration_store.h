// RegistrationStore: the seam between the hub's NHS logic and its persistence
// (ARCHITECTURE.md "Registration store"; STYLE.md "narrow OS interfaces through
// constructors, each with a Linux implementation and a fake").
// Implementations: SqliteRegistrationStore (the hub) and FakeRegistrationStore
// (hub unit tests); tests/db/store_contract_test.cpp runs one set of contract
// tests against both.
//
// Contract
// --------
// Group commit (hub issue; ARCHITECTURE.md "State that must survive"): during
// one event-loop turn the hub stages the writes caused by the requests it
// handled, then hands them over with ONE commit_async() (or commit()), and
// sends the Registration Replies only once that commit reported success. So:
//  * stage_*() only records the operation in memory. It validates its argument
//    (Invalid on a contract violation, nothing staged) so that one bad request
//    cannot sink the batch; it never touches the disk and never fails otherwise.
//  * commit_async(done) takes every staged operation (staged() is 0 after it)
//    and applies them, in staging order, in ONE transaction: all of them or
//    none. Batches are committed in the order they were handed over, and each
//    `done` is called exactly once, in that same order, on the caller's thread
//    (SqliteRegistrationStore: from deliver_completions(), which the event loop
//    runs when completion_fd() is readable; the fake: at once, or when the test
//    releases held commits). The caller does not wait: the event loop never
//    waits on fsync (issue #10 item 7). Success means the batch is durable
//    (SQLite: committed with the configured synchronous level). On failure
//    nothing of the batch is applied, and the caller answers those requests
//    with code 5; the next batch is independent, and the store recovers by
//    itself once writes succeed again (no reopen needed). A batch with nothing
//    staged succeeds and does no I/O.
//  * commit() is the same, synchronous: it returns once the batch (and every
//    batch handed over before it) has been committed or refused.
//  * stage_upsert() inserts the binding or replaces every column of the row with
//    the same key (protocol, prefix_len, NBMA; see db/binding.h for why).
//    stage_remove() of a key that is not stored is not an error; it removes
//    the binding's resolvers (stage_resolver) too.
//  * Expiry: a binding is expired iff expires_at <= now (wall-clock unix
//    seconds). load_unexpired(now) returns exactly the committed bindings with
//    expires_at > now, in no particular order; it does not see staged operations.
//  * delete_expired(now) deletes every committed binding with expires_at <= now
//    in its own transaction, writes one AuditKind::Expired event per deleted
//    binding (at = now) in that same transaction, deletes their resolvers and
//    every resolver with until <= now, and returns the deleted bindings in no
//    particular order. Staged operations stay staged. Call it
//    between turns (a sweep timer), not between stage_*() and commit().
//  * prune_audit(older_than) deletes audit events with at < older_than and
//    returns how many; audit_events(query) reads them (advpnctl, tests).
//  * sweep_async(now, audit_older_than, done) is delete_expired(now) then
//    prune_audit(audit_older_than) without waiting: ordered after the batches
//    handed over before it and before those handed over after it, `done` called
//    once, in that order, like a commit's (the hub's sweep timer: a sweep that
//    waited behind a backlog of commits stalled the event loop, issue #10 item 7).
//  * Every other call is synchronous and ordered after the batches handed over
//    before it (a sweep never overtakes a pending commit).
//  * Errors are values; no function throws. Not thread-safe: one event loop
//    calls it (implementations may do the work on a thread of their own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/result.h"
#include "db/binding.h"
#include "db/store_error.h"

namespace advpnd::db {

class RegistrationStore {
 public:
  virtual ~RegistrationStore() = default;
  RegistrationStore(const RegistrationStore&) = delete;
  RegistrationStore& operator=(const RegistrationStore&) = delete;

  // Record one write for the next commit(); Invalid if the argument breaks
  // the contract in db/binding.h (then nothing is staged).
  [[nodiscard]] virtual Status<StoreError> stage_upsert(const Binding& binding) = 0;
  [[nodiscard]] virtual Status<StoreError> stage_remove(const BindingKey& key) = 0;
  [[nodiscard]] virtual Status<StoreError> stage_audit(const AuditEvent& event) = 0;
  // Inserts or replaces (same binding and requester NBMA) a resolver.
  [[nodiscard]] virtual Status<StoreError> stage_resolver(const ResolverRecord& resolver) = 0;
  // Operations staged since the last commit().
  [[nodiscard]] virtual std::size_t staged() const = 0;

  using CommitDone = std::function<void(const Status<StoreError>&)>;
  // All staged operations in one transaction, or none of them; see above.
  virtual void commit_async(CommitDone done) = 0;
  [[nodiscard]] virtual Status<StoreError> commit() = 0;

  [[nodiscard]] virtual Result<std::vector<Binding>, StoreError> load_unexpired(std::int64_t now) = 0;
  [[nodiscard]] virtual Result<std::vector<Binding>, StoreError> delete_expired(std::int64_t now) = 0;
  // Committed resolvers with until > now, in no particular order.
  [[nodiscard]] virtual Result<std::vector<ResolverRecord>, StoreError> load_resolvers(std::int64_t now) = 0;

  [[nodiscard]] virtual Result<std::size_t, StoreError> prune_audit(std::int64_t older_than) = 0;

  struct SweepResult {
    Result<std::vector<Binding>, StoreError> expired = std::vector<Binding>{};
    Result<std::size_t, StoreError> audit_pruned = std::size_t{0};
  };
  using SweepDone = std::function<void(SweepResult)>;
  virtual void sweep_async(std::int64_t now, std::int64_t audit_older_than, SweepDone done) = 0;
  [[nodiscard]] virtual Result<std::vector<AuditEvent>, StoreError> audit_events(const AuditQuery& query) = 0;

 protected:
  RegistrationStore() = default;
};

}  // namespace advpnd::db
