#include "routing/kernel_route_table.h"

#include <algorithm>

namespace advpnd::routing {

void KernelRouteTable::changed(RouteChange change, const KernelRoute& route) {
  ++generation_;
  if (on_change_) on_change_(change, route);
}

void KernelRouteTable::upsert(KernelRoute route) {
  route.prefix = shortcut::Prefix::of(route.prefix.address, route.prefix.length);
  std::vector<KernelRoute>* same_prefix = by_prefix_.find(route.prefix);
  if (same_prefix == nullptr) {
    by_prefix_.insert_or_assign(route.prefix, std::vector<KernelRoute>{route});
    ++size_;
    changed(RouteChange::Added, route);
    return;
  }
  auto at = std::lower_bound(same_prefix->begin(), same_prefix->end(), route.metric,
                             [](const KernelRoute& held, std::uint32_t metric) { return held.metric < metric; });
  if (at != same_prefix->end() && at->metric == route.metric) {
    if (*at == route) return;  // announced again unchanged (a dump after an overrun)
    *at = route;
    changed(RouteChange::Replaced, *at);
    return;
  }
  at = same_prefix->insert(at, route);
  ++size_;
  changed(RouteChange::Added, *at);
}

bool KernelRouteTable::remove(const shortcut::Prefix& prefix, std::uint32_t metric) {
  const shortcut::Prefix key = shortcut::Prefix::of(prefix.address, prefix.length);
  std::vector<KernelRoute>* same_prefix = by_prefix_.find(key);
  if (same_prefix == nullptr) return false;
  auto at = std::find_if(same_prefix->begin(), same_prefix->end(),
                         [metric](const KernelRoute& held) { return held.metric == metric; });
  if (at == same_prefix->end()) return false;
  const KernelRoute removed = std::move(*at);
  same_prefix->erase(at);
  if (same_prefix->empty()) by_prefix_.erase(key);
  --size_;
  changed(RouteChange::Removed, removed);
  return true;
}

std::size_t KernelRouteTable::remove_interface(std::uint32_t ifindex) {
  std::vector<KernelRoute> gone;
  by_prefix_.for_each([&](const shortcut::Prefix&, const std::vector<KernelRoute>& held) {
    for (const KernelRoute& route : held) {
      if (route.ifindex == ifindex) gone.push_back(route);
    }
  });
  for (const KernelRoute& route : gone) (void)remove(route.prefix, route.metric);
  return gone.size();
}

void KernelRouteTable::clear() {
  by_prefix_.clear();
  size_ = 0;
  ++generation_;
}

const KernelRoute* KernelRouteTable::lookup(const IpAddress& address) const {
  const std::vector<KernelRoute>* routes = by_prefix_.lookup(address);
  return routes == nullptr ? nullptr : &routes->front();
}

const KernelRoute* KernelRouteTable::find(const shortcut::Prefix& prefix) const {
  const std::vector<KernelRoute>* routes = by_prefix_.find(prefix);
  return routes == nullptr ? nullptr : &routes->front();
}

std::vector<KernelRoute> KernelRouteTable::routes() const {
  std::vector<KernelRoute> all;
  all.reserve(size_);
  by_prefix_.for_each([&all](const shortcut::Prefix&, const std::vector<KernelRoute>& held) {
    all.insert(all.end(), held.begin(), held.end());
  });
  return all;
}

}  // namespace advpnd::routing
