// FakeRegistrationStore: RegistrationStore in memory, for hub unit tests
// (STYLE.md "each with a Linux implementation and a fake"). It obeys the same
// contract as SqliteRegistrationStore (tests/db/store_contract_test.cpp runs
// the same tests against both) and adds failure injection: the hub's tests
// make the next commit fail with a chosen StoreError kind and check that the
// requests of that batch are answered with code 5.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "db/registration_store.h"

namespace advpnd::db {

class FakeRegistrationStore final : public RegistrationStore {
 public:
  FakeRegistrationStore() = default;

  [[nodiscard]] Status<StoreError> stage_upsert(const Binding& binding) override;
  [[nodiscard]] Status<StoreError> stage_remove(const BindingKey& key) override;
  [[nodiscard]] Status<StoreError> stage_audit(const AuditEvent& event) override;
  [[nodiscard]] Status<StoreError> stage_resolver(const ResolverRecord& resolver) override;
  [[nodiscard]] std::size_t staged() const override { return staged_.size(); }

  // Commits at once (the stored state changes in order); `done` runs at once
  // too, unless commits are held (below).
  void commit_async(CommitDone done) override;
  [[nodiscard]] Status<StoreError> commit() override;

  [[nodiscard]] Result<std::vector<Binding>, StoreError> load_unexpired(std::int64_t now) override;
  [[nodiscard]] Result<std::vector<Binding>, StoreError> delete_expired(std::int64_t now) override;
  [[nodiscard]] Result<std::vector<ResolverRecord>, StoreError> load_resolvers(std::int64_t now) override;
  [[nodiscard]] std::size_t resolver_rows() const { return resolvers_.size(); }

  [[nodiscard]] Result<std::size_t, StoreError> prune_audit(std::int64_t older_than) override;
  // Sweeps at once; `done` runs at once, or in turn behind held commits.
  void sweep_async(std::int64_t now, std::int64_t audit_older_than, SweepDone done) override;
  [[nodiscard]] Result<std::vector<AuditEvent>, StoreError> audit_events(const AuditQuery& query) override;

  // Failure injection: the next `count` commits with something staged fail
  // with `kind` (their batches are dropped, as with a real failure), then
  // commits succeed again.
  void fail_next_commits(StoreErrorKind kind, std::size_t count = 1);
  // The same for the next delete_expired / load_unexpired call.
  void fail_next_sweep(StoreErrorKind kind) { sweep_failure_ = kind; }
  void fail_next_load(StoreErrorKind kind) { load_failure_ = kind; }

  // Held commits: what the SQLite store's thread does between handing a
  // batch over and the event loop learning the result. While held, the
  // `done` of commit_async() and sweep_async() waits until release_commits()
  // runs it (the oldest first); returns how many ran.
  void hold_commits(bool hold) { hold_commits_ = hold; }
  std::size_t release_commits(std::size_t count = SIZE_MAX);
  [[nodiscard]] std::size_t held_commits() const { return held_.size(); }

  // For hub tests that check group commit: transactions attempted (non-empty
  // commits, failed ones included) and the committed state.
  [[nodiscard]] std::size_t commit_attempts() const { return commit_attempts_; }
  [[nodiscard]] const std::map<BindingKey, Binding>& bindings() const { return bindings_; }

 private:
  using StagedOp = std::variant<Binding, BindingKey, AuditEvent, ResolverRecord>;
  void erase_resolvers(const BindingKey& key);

  std::map<BindingKey, Binding> bindings_;
  std::vector<AuditEvent> audit_;
  std::map<std::pair<BindingKey, IpAddress>, ResolverRecord>
      resolvers_;  // by binding and requester NBMA  // insertion order, like the audit table's id
  std::vector<StagedOp> staged_;

  std::optional<StoreErrorKind> commit_failure_;
  std::size_t commit_failures_left_ = 0;
  std::optional<StoreErrorKind> sweep_failure_;
  std::optional<StoreErrorKind> load_failure_;
  std::size_t commit_attempts_ = 0;
  bool hold_commits_ = false;
  std::deque<std::function<void()>> held_;  // completions waiting for release_commits()
};

}  // namespace advpnd::db
