#include "db/fake_registration_store.h"

#include <algorithm>
#include <string>
#include <utility>

namespace advpnd::db {
namespace {

StoreError injected(StoreErrorKind kind, std::string_view what) {
  return StoreError{kind, std::string(what) + ": injected failure (FakeRegistrationStore)"};
}

}  // namespace

Status<StoreError> FakeRegistrationStore::stage_upsert(const Binding& binding) {
  if (auto ok = validate(binding); !ok) return ok;
  staged_.emplace_back(binding);
  return {};
}

Status<StoreError> FakeRegistrationStore::stage_remove(const BindingKey& key) {
  if (auto ok = validate(key); !ok) return ok;
  staged_.emplace_back(key);
  return {};
}

Status<StoreError> FakeRegistrationStore::stage_resolver(const ResolverRecord& resolver) {
  if (auto ok = validate(resolver); !ok) return ok;
  staged_.emplace_back(resolver);
  return {};
}

void FakeRegistrationStore::erase_resolvers(const BindingKey& key) {
  auto it = resolvers_.lower_bound({key, IpAddress{}});
  while (it != resolvers_.end() && it->first.first == key) it = resolvers_.erase(it);
}

Result<std::vector<ResolverRecord>, StoreError> FakeRegistrationStore::load_resolvers(std::int64_t now) {
  std::vector<ResolverRecord> out;
  for (const auto& [key, resolver] : resolvers_) {
    if (resolver.until > now) out.push_back(resolver);
  }
  return out;
}

Status<StoreError> FakeRegistrationStore::stage_audit(const AuditEvent& event) {
  if (auto ok = validate(event); !ok) return ok;
  staged_.emplace_back(event);
  return {};
}

void FakeRegistrationStore::fail_next_commits(StoreErrorKind kind, std::size_t count) {
  commit_failure_ = kind;
  commit_failures_left_ = count;
}

void FakeRegistrationStore::commit_async(CommitDone done) {
  Status<StoreError> status = commit();
  if (!hold_commits_) {
    done(status);
    return;
  }
  held_.emplace_back([done = std::move(done), status = std::move(status)] { done(status); });
}

void FakeRegistrationStore::sweep_async(std::int64_t now, std::int64_t audit_older_than, SweepDone done) {
  SweepResult result;
  result.expired = delete_expired(now);
  result.audit_pruned = prune_audit(audit_older_than);
  if (!hold_commits_) {
    done(std::move(result));
    return;
  }
  held_.emplace_back([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
}

std::size_t FakeRegistrationStore::release_commits(std::size_t count) {
  std::size_t released = 0;
  while (released < count && !held_.empty()) {
    auto completion = std::move(held_.front());
    held_.pop_front();
    ++released;
    completion();  // may hand over another batch: it queues behind
  }
  return released;
}

// Same contract as the SQLite store: all staged operations or none, and the
// batch is dropped either way.
Status<StoreError> FakeRegistrationStore::commit() {
  if (staged_.empty()) return {};
  const std::vector<StagedOp> batch = std::exchange(staged_, {});
  ++commit_attempts_;
  if (commit_failure_ && commit_failures_left_ > 0) {
    --commit_failures_left_;
    return fail(injected(*commit_failure_, "commit"));
  }
  for (const StagedOp& op : batch) {
    if (const auto* binding = std::get_if<Binding>(&op)) {
      bindings_.insert_or_assign(binding->key, *binding);
    } else if (const auto* key = std::get_if<BindingKey>(&op)) {
      bindings_.erase(*key);
      erase_resolvers(*key);
    } else if (const auto* resolver = std::get_if<ResolverRecord>(&op)) {
      resolvers_.insert_or_assign({resolver->binding, resolver->requester_nbma}, *resolver);
    } else {
      audit_.push_back(std::get<AuditEvent>(op));
    }
  }
  return {};
}

Result<std::vector<Binding>, StoreError> FakeRegistrationStore::load_unexpired(std::int64_t now) {
  if (auto kind = std::exchange(load_failure_, std::nullopt)) return fail(injected(*kind, "load_unexpired"));
  std::vector<Binding> out;
  for (const auto& [key, binding] : bindings_) {
    if (binding.expires_at > now) out.push_back(binding);
  }
  return out;
}

Result<std::vector<Binding>, StoreError> FakeRegistrationStore::delete_expired(std::int64_t now) {
  if (auto kind = std::exchange(sweep_failure_, std::nullopt)) return fail(injected(*kind, "delete_expired"));
  std::vector<Binding> out;
  for (auto it = bindings_.begin(); it != bindings_.end();) {
    if (it->second.expires_at <= now) {
      const Binding& b = it->second;
      audit_.push_back(AuditEvent{now, AuditKind::Expired, b.key.nbma, b.post_nat_nbma, b.key.protocol,
                                  b.key.prefix_len, "holding time elapsed"});
      out.push_back(b);
      erase_resolvers(b.key);
      it = bindings_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(resolvers_, [now](const auto& entry) { return entry.second.until <= now; });
  return out;
}

Result<std::size_t, StoreError> FakeRegistrationStore::prune_audit(std::int64_t older_than) {
  const auto removed = std::erase_if(audit_, [&](const AuditEvent& e) { return e.at < older_than; });
  return static_cast<std::size_t>(removed);
}

Result<std::vector<AuditEvent>, StoreError> FakeRegistrationStore::audit_events(const AuditQuery& query) {
  std::vector<AuditEvent> out;
  for (const AuditEvent& e : audit_) {
    if (e.at >= query.since) out.push_back(e);
  }
  // Stable: equal times keep insertion order (the audit table's id).
  std::stable_sort(out.begin(), out.end(), [](const AuditEvent& a, const AuditEvent& b) { return a.at < b.at; });
  if (query.newest_first) std::reverse(out.begin(), out.end());
  if (out.size() > query.limit) out.resize(query.limit);
  return out;
}

}  // namespace advpnd::db
