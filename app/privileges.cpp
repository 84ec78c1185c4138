#include "app/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace advpnd::app {
namespace {

std::string errno_text(int error) { return std::strerror(error); }  // NOLINT(concurrency-mt-unsafe): start-up

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::optional<Account> find_account(const std::string& name) {
  passwd entry{};
  passwd* found = nullptr;
  std::array<char, 4096> buffer{};
  if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return Account{name, found->pw_uid, found->pw_gid};
}

std::string current_user_name() {
  passwd entry{};
  passwd* found = nullptr;
  std::array<char, 4096> buffer{};
  const uid_t uid = ::geteuid();
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return "uid " + std::to_string(uid);
  }
  return found->pw_name;
}

// Which account to switch to; nullopt: stay who we are.
Result<std::optional<Account>, std::string> target_account(const PrivilegeRequest& request) {
  const bool root = ::geteuid() == 0;
  if (!request.user) {
    if (!root) return std::optional<Account>{};
    return find_account(kDefaultDaemonUser);  // absent: stay root (documented default)
  }
  auto account = find_account(*request.user);
  if (!account) return fail("--user " + *request.user + ": no such user");
  if (account->uid == ::geteuid()) return std::optional<Account>{};
  if (!root) return fail("--user " + *request.user + ": only root can switch user; running as " + current_user_name());
  return account;
}

// The parent folder of each path exists, and a folder created here belongs
// to the account (so that it can make its database and socket files).
Status<std::string> prepare_folders(const std::vector<std::string>& paths, const std::optional<Account>& account) {
  for (const std::string& path : paths) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (parent.empty()) continue;
    std::error_code error;
    if (std::filesystem::exists(parent, error)) continue;
    std::filesystem::create_directories(parent, error);
    if (error) return fail("cannot create " + parent.string() + ": " + error.message());
    if (account && ::chown(parent.c_str(), account->uid, account->gid) != 0) {
      return fail("cannot give " + parent.string() + " to " + account->name + ": " + errno_text(errno));
    }
  }
  return {};
}

Status<std::string> switch_user(const Account& account) {
  if (::initgroups(account.name.c_str(), account.gid) != 0) {
    return fail("initgroups(" + account.name + ") failed: " + errno_text(errno));
  }
  if (::setresgid(account.gid, account.gid, account.gid) != 0) {
    return fail("setresgid(" + std::to_string(account.gid) + ") failed: " + errno_text(errno));
  }
  if (::setresuid(account.uid, account.uid, account.uid) != 0) {
    return fail("setresuid(" + std::to_string(account.uid) + ") failed: " + errno_text(errno));
  }
  // Paranoia that costs nothing: a way back to root must be closed.
  if (account.uid != 0 && ::setuid(0) == 0)
    return fail("could still switch back to root after dropping to " + account.name);
  return {};
}

}  // namespace

Status<std::string> clear_capabilities() {
  // capset(2) directly (no libcap): version 3 takes two 32-bit words per set.
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> none{};
  if (::syscall(SYS_capset, &header, none.data()) != 0) return fail("capset(none) failed: " + errno_text(errno));
  // Ambient capabilities (systemd's AmbientCapabilities=) would otherwise
  // survive an execve; with permitted empty they are already void, but say so.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return fail("clearing ambient capabilities failed: " + errno_text(errno));
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("PR_SET_NO_NEW_PRIVS failed: " + errno_text(errno));
  return {};
}

Result<DroppedPrivileges, std::string> drop_privileges(const PrivilegeRequest& request,
                                                       const std::vector<std::string>& folders) {
  auto account = target_account(request);
  if (!account) return fail(account.error());
  if (auto prepared = prepare_folders(folders, *account); !prepared) return fail(prepared.error());
  if (*account) {
    if (auto switched = switch_user(**account); !switched) return fail(switched.error());
  }
  if (auto cleared = clear_capabilities(); !cleared) return fail(cleared.error());
  return DroppedPrivileges{current_user_name(), ::getuid(), ::getgid()};
}

}  // namespace advpnd::app
