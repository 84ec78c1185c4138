#include "dataplane/route_table.h"

namespace advpnd::dataplane {

void RouteTable::set(const shortcut::Prefix& prefix, const Route& route) { routes_.insert_or_assign(prefix, route); }

bool RouteTable::erase(const shortcut::Prefix& prefix) { return routes_.erase(prefix); }

const Route* RouteTable::lookup(const IpAddress& address) const { return routes_.lookup(address); }

bool RouteTable::uses_peer(const IpAddress& peer_nbma) const {
  bool used = false;
  routes_.for_each([&](const shortcut::Prefix&, const Route& route) { used = used || route.peer_nbma == peer_nbma; });
  return used;
}

}  // namespace advpnd::dataplane
