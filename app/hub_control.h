// What `advpnctl` can ask a hub: the commands, and how their answers look
// (a human table by default, JSON with --json).
//
//   show registrations [ADDR] [--json]   all, or those of one protocol address
//   show audit [ADDR] [--json]           the audit trail, newest first; or one address's
//   show stats [--json]
//   show upstream [--json]               a regional hub's registrations at the tier above
//   clear registration ADDR
//   debug [CATEGORY on|off]              app/debug_control.h
#pragma once

#include <string_view>

#include "app/control_server.h"
#include "base/nbma_transport.h"
#include "dataplane/hub_dataplane.h"
#include "db/registration_store.h"
#include "hub/next_hop_server.h"
#include "spoke/nhs_set.h"

namespace advpnd::app {

// How many audit events `show audit` prints at most, and how many of the
// newest it searches for one address (bounded: the loop never stalls on a
// large audit table).
inline constexpr std::size_t kAuditShown = 200;
inline constexpr std::size_t kAuditSearched = 20'000;

// What the answers read. `transport` (may be null): its counters go into
// `show stats`, since frames it drops (GRE that does not parse, a wrong GRE
// key) never reach the NHS.
struct HubParts {
  hub::NextHopServer& nhs;
  db::RegistrationStore& store;
  const NbmaTransport* transport = nullptr;
  const dataplane::HubDataplane* dataplane = nullptr;
  const spoke::NhsSet* upstream = nullptr;  // [[upstream]]; null on a top hub
};

[[nodiscard]] ControlReply hub_control(const HubParts& parts, std::string_view command);

}  // namespace advpnd::app
