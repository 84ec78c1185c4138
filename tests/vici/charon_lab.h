// A two-host strongSwan lab for the VICI tests and the setup benchmark
// (../shared/notes/strongswan-netns.md): two network namespaces joined by a
// veth pair, A = 192.0.2.1/24 and B = 192.0.2.2/24 (documentation
// addresses, nothing leaves the namespaces), and a charon in each, started
// through `ip netns exec NS sh -c 'mount --bind DIR/run /run && exec charon'`
// so that each has its own /run (charon's pid file path is fixed) and its
// own strongswan.conf (kernel-libipsec: ESP in user space through ipsec0;
// its VICI socket at DIR/charon.vici).
//
// In each namespace GRE alone is steered into table 220, where libipsec puts
// its routes, with an unreachable default so that GRE to a peer without an
// SA fails closed (the notes' routing recipe).
//
// Cleanup is by pid and by name: the destructor stops both charons (TERM,
// then KILL) and deletes both namespaces and the temp dir; charon gets
// PR_SET_PDEATHSIG so it dies with a test that crashes, and create() first
// removes namespaces left by test processes that no longer exist. The bind
// mounts live in the mount namespaces `ip netns exec` made for each charon
// and go away with it. Needs root; errors are values, not test assertions,
// so the benchmark can use the lab too.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/ip_address.h"
#include "base/result.h"
#include "platform/unique_fd.h"

namespace advpnd::test {

struct CharonHost {
  std::string name;     // "a" or "b"
  std::string netns;    // network namespace name
  std::string dir;      // its temp dir: strongswan.conf, run/, charon.log
  std::string socket;   // its VICI socket
  IpAddress address;    // its veth address
  pid_t pid = -1;       // charon's pid while it runs
};

class CharonLab {
 public:
  // Namespaces, veth, routing and both charons, ready to accept VICI.
  static Result<std::unique_ptr<CharonLab>, std::string> create();
  ~CharonLab();
  CharonLab(const CharonLab&) = delete;
  CharonLab& operator=(const CharonLab&) = delete;

  [[nodiscard]] CharonHost& a() { return a_; }
  [[nodiscard]] CharonHost& b() { return b_; }

  // Starts charon on `host` and waits (up to 5 s) until its socket accepts.
  Status<std::string> start_charon(CharonHost& host);
  // Sends `signo` and waits for charon to exit (SIGKILL after 3 s).
  void stop_charon(CharonHost& host, int signo);

  // A raw GRE socket (IPPROTO_GRE) opened inside `host`'s namespace.
  Result<platform::UniqueFd, std::string> raw_gre_socket(const CharonHost& host) const;
  // Sends `count` GRE packets of `payload_size` bytes from `from` to `to`.
  Status<std::string> send_gre(const CharonHost& from, const IpAddress& to, int count, std::size_t payload_size) const;

  // The last lines of charon's log on `host`, for failure messages.
  [[nodiscard]] std::string log_tail(const CharonHost& host, std::size_t lines = 30) const;

 private:
  CharonLab() = default;
  Status<std::string> build();

  std::string root_;
  CharonHost a_;
  CharonHost b_;
  bool namespaces_made_ = false;
};

// Root is needed (namespaces, mounts, raw sockets): the message says so.
[[nodiscard]] Status<std::string> require_root();

}  // namespace advpnd::test
