// Moves the test process into a fresh network namespace with only `lo` up,
// so raw GRE tests neither see nor disturb the host's traffic. On loopback
// every address of 127.0.0.0/8 is local; the tests use no others.
#pragma once

#include <string>

namespace advpnd::test {

struct NetnsResult {
  bool ok = false;
  bool isolated = false;  // false: still in the host namespace (loopback only)
  std::string message;
};

// Idempotent: the first call decides. Not root: ok = false with a message
// that says so. Root but unshare refused (e.g. a locked-down container):
// ok = true, isolated = false, and the tests run on the host's loopback.
NetnsResult enter_private_netns();

// Not idempotent: every call moves the process into another fresh namespace
// (the previous one goes away with its last socket and process), so each
// system test starts with no sockets and no traffic of the one before.
// Same results as above; nothing falls back to the host namespace silently
// (isolated says so).
NetnsResult enter_fresh_private_netns();

}  // namespace advpnd::test
