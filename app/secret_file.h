// Reading secrets (the IPsec PSK, a private key) from files.
//
// A secret file that its group or others may read is refused with an error
// naming the file and its mode: a key that every local user can copy is not
// a secret, and failing at start is better than running with it.
//
// Under systemd, `LoadCredential=NAME:/path` hands the daemon a copy of the
// file in $CREDENTIALS_DIRECTORY (owned by the service user, mode 0400), so
// the original can stay root:root 0600 while the daemon never runs as root.
// credential_file() finds such a copy. A credential of nothing but line ends
// counts as absent: the units pair each LoadCredential= with a
// SetCredential=ID:\n fallback (systemd refuses an empty one), so that a
// spoke without that file still starts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace advpnd::app {

// The whole file; an error when it cannot be read, is not a regular file or
// is readable by its group or by others ("FILE: readable by group or others
// (mode 0644): chmod 600 FILE").
[[nodiscard]] Result<std::string, std::string> read_secret_file(const std::string& path);

// $CREDENTIALS_DIRECTORY/NAME when the variable is set and that file exists
// and holds more than line ends; nullopt otherwise.
[[nodiscard]] std::optional<std::string> credential_file(std::string_view name);

}  // namespace advpnd::app
