// Least privilege for the daemons (issue 14). Start-up needs two
// capabilities: CAP_NET_RAW for the raw GRE socket (platform/
// raw_gre_transport.cpp) and CAP_NET_ADMIN for the TUN device (TUNSETIFF
// and the SIOCSIF* ioctls, dataplane/tun_device.cpp) and SO_RCVBUFFORCE.
// Nothing after start-up needs any: packets go through descriptors already
// open, and neither daemon changes routes or devices later. So once the
// socket and the device are open, the daemon
//   1. switches to an unprivileged user, when it runs as root (below),
//   2. clears every capability (effective, permitted, inheritable, ambient),
//   3. sets no_new_privs, so that nothing it could execute regains any.
// Under systemd the units start it as User=advpnd with exactly the two
// capabilities as ambient ones (deploy/systemd/), and only 2 and 3 apply.
//
// Which user (`advpnd hub|spoke --user NAME`):
//   - no --user: "advpnd" when the process is root and that user exists (the
//     Debian package creates it); otherwise the user stays as it is;
//   - --user NAME: that user; an error if it does not exist, or if the
//     process is neither root nor already NAME;
//   - --user root: stay root (capabilities are still cleared).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace advpnd::app {

struct PrivilegeRequest {
  std::optional<std::string> user;  // --user; nullopt: the default above
};

inline constexpr const char* kDefaultDaemonUser = "advpnd";

struct DroppedPrivileges {
  std::string user;  // who the daemon runs as now
  uid_t uid = 0;
  gid_t gid = 0;
};

// Switches user and clears capabilities as described above. `folders` are
// paths (database, control socket) whose parent folder the unprivileged user
// must be able to write: created first when missing and, when switching
// from root, handed to that user (an existing folder is left as it is).
[[nodiscard]] Result<DroppedPrivileges, std::string> drop_privileges(const PrivilegeRequest& request,
                                                                     const std::vector<std::string>& folders);

// Clears every capability set of this process and sets no_new_privs.
[[nodiscard]] Status<std::string> clear_capabilities();

}  // namespace advpnd::app
