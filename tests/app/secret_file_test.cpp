// Secrets (issue 14, least privilege): a PSK file or private key that group
// or others may read is refused with the file named; systemd credentials
// ($CREDENTIALS_DIRECTORY, LoadCredential=) take the place of the files.
#include "app/secret_file.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/spoke_config.h"
#include "tests/support/temp_file.h"

namespace advpnd::app {
namespace {

// The error reported for `key` (config check reports every error at once).
ConfigError error_at(const ConfigErrors& errors, const std::string& key) {
  for (const ConfigError& e : errors.errors) {
    if (e.key == key) return e;
  }
  FAIL("no error for " << key << " in:\n" << errors.to_string());
  return {};
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

const char* kSpokeHead = R"([spoke]
nbma_address = "198.51.100.2"
protocol_address = "10.0.0.2"

[[nhs]]
nbma_address = "203.0.113.1"

[ipsec]
provider = "strongswan"
)";

std::string spoke_config(const test::TempFile& file, const std::string& ipsec_lines) {
  std::ofstream(file.path()) << kSpokeHead << ipsec_lines;
  return file.path();
}

// $CREDENTIALS_DIRECTORY set for one test case and unset after.
class CredentialsDirectory {
 public:
  CredentialsDirectory() {
    std::filesystem::create_directories(dir_.path());
    ::setenv("CREDENTIALS_DIRECTORY", dir_.path().c_str(), 1);
  }
  ~CredentialsDirectory() { ::unsetenv("CREDENTIALS_DIRECTORY"); }
  CredentialsDirectory(const CredentialsDirectory&) = delete;
  CredentialsDirectory& operator=(const CredentialsDirectory&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  test::TempFile dir_{".credentials"};
};

TEST_CASE("secret file: 0600 and 0400 are read, whole") {
  test::TempFile file(".psk");
  write_file(file.path(), "s3cret\nsecond line\n", 0600);
  auto text = read_secret_file(file.path());
  REQUIRE_MESSAGE(text.ok(), (text.ok() ? "" : text.error()));
  CHECK(*text == "s3cret\nsecond line\n");
  REQUIRE(::chmod(file.path().c_str(), 0400) == 0);
  CHECK(read_secret_file(file.path()).ok());
}

TEST_CASE("secret file: readable by group or others is refused, naming the file and its mode") {
  test::TempFile file(".psk");
  for (const mode_t mode : {0644, 0640, 0604, 0620, 0602, 0610}) {
    CAPTURE(mode);
    write_file(file.path(), "s3cret\n", mode);
    auto text = read_secret_file(file.path());
    REQUIRE_FALSE(text.ok());
    CHECK(text.error().find(file.path()) == 0);
    CHECK(text.error().find("readable by group or others") != std::string::npos);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    CHECK(text.error().find(std::string("(mode ") + octal + ")") != std::string::npos);
  }
}

TEST_CASE("secret file: missing, a folder") {
  test::TempFile file(".psk");
  auto missing = read_secret_file(file.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error() == file.path() + ": cannot open: No such file or directory");
  std::filesystem::create_directories(file.path());
  REQUIRE(::chmod(file.path().c_str(), 0700) == 0);
  auto folder = read_secret_file(file.path());
  REQUIRE_FALSE(folder.ok());
  CHECK(folder.error() == file.path() + ": not a regular file");
}

TEST_CASE("credentials: found only when $CREDENTIALS_DIRECTORY holds a file of that name with more than line ends") {
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK_FALSE(credential_file("psk").has_value());
  CredentialsDirectory credentials;
  CHECK_FALSE(credential_file("psk").has_value());
  write_file(credentials.file("psk"), "", 0400);
  CHECK_FALSE(credential_file("psk").has_value());
  write_file(credentials.file("psk"), "\n", 0400);  // the units' SetCredential=psk:\n fallback
  CHECK_FALSE(credential_file("psk").has_value());
  write_file(credentials.file("psk"), "from-systemd\n", 0400);
  CHECK(credential_file("psk") == credentials.file("psk"));
}

TEST_CASE("spoke config: psk_file is read without its line end") {
  test::TempFile config(".toml");
  test::TempFile psk(".psk");
  write_file(psk.path(), "file-secret\n", 0600);
  auto loaded = load_spoke_config(spoke_config(config, "psk_file = \"" + psk.path() + "\"\n"));
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().to_string()));
  CHECK(loaded->strongswan.policy.auth.psk == "file-secret");
}

TEST_CASE("spoke config: a world-readable psk_file is refused at its line, naming the file") {
  test::TempFile config(".toml");
  test::TempFile psk(".psk");
  write_file(psk.path(), "file-secret\n", 0644);
  auto loaded = load_spoke_config(spoke_config(config, "psk_file = \"" + psk.path() + "\"\n"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(error_at(loaded.error(), "ipsec.psk_file").key == "ipsec.psk_file");
  CHECK(error_at(loaded.error(), "ipsec.psk_file").line == 10);
  CHECK(error_at(loaded.error(), "ipsec.psk_file").message ==
        psk.path() +
            ": readable by group or others (mode 0644); a secret must be 0600 or "
            "0400: chmod 600 " +
            psk.path());
}

TEST_CASE("spoke config: a group-readable private_key is refused; certificates themselves may be public") {
  test::TempFile config(".toml");
  test::TempFile cert(".pem");
  test::TempFile key(".key");
  test::TempFile ca(".pem");
  write_file(cert.path(), "-----BEGIN CERTIFICATE-----\n", 0644);
  write_file(ca.path(), "-----BEGIN CERTIFICATE-----\n", 0644);
  write_file(key.path(), "-----BEGIN PRIVATE KEY-----\n", 0640);
  const std::string ipsec = "certificate = \"" + cert.path() + "\"\nprivate_key = \"" + key.path() +
                            "\"\nca_certificate = \"" + ca.path() + "\"\n";
  auto refused = load_spoke_config(spoke_config(config, ipsec));
  REQUIRE_FALSE(refused.ok());
  CHECK(error_at(refused.error(), "ipsec.private_key").key == "ipsec.private_key");
  CHECK(error_at(refused.error(), "ipsec.private_key")
            .message.find(key.path() + ": readable by group or others (mode 0640)") == 0);

  REQUIRE(::chmod(key.path().c_str(), 0600) == 0);
  auto loaded = load_spoke_config(spoke_config(config, ipsec));
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().to_string()));
  CHECK(loaded->strongswan.policy.auth.key_pem == "-----BEGIN PRIVATE KEY-----\n");
}

TEST_CASE("spoke config: psk and psk_file exclude each other") {
  test::TempFile config(".toml");
  test::TempFile psk(".psk");
  write_file(psk.path(), "file-secret\n", 0600);
  auto loaded = load_spoke_config(spoke_config(config, "psk = \"inline\"\npsk_file = \"" + psk.path() + "\"\n"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(error_at(loaded.error(), "ipsec.psk_file").key == "ipsec.psk_file");
  CHECK(error_at(loaded.error(), "ipsec.psk_file").message ==
        "psk and psk_file (or a psk credential) exclude each other");
}

TEST_CASE("spoke config: systemd credentials take the place of psk_file and private_key") {
  CredentialsDirectory credentials;
  test::TempFile config(".toml");
  SUBCASE("a psk credential without any psk key in the config") {
    write_file(credentials.file("psk"), "from-systemd\n", 0400);
    auto loaded = load_spoke_config(spoke_config(config, ""));
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().to_string()));
    CHECK(loaded->strongswan.policy.auth.psk == "from-systemd");
  }
  SUBCASE("the credential wins over a psk_file path that does not exist here") {
    write_file(credentials.file("psk"), "from-systemd\n", 0400);
    auto loaded = load_spoke_config(spoke_config(config, "psk_file = \"/nonexistent/spoke.psk\"\n"));
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().to_string()));
    CHECK(loaded->strongswan.policy.auth.psk == "from-systemd");
  }
  SUBCASE("the units' fallback credential (a lone line end) leaves the config's psk") {
    write_file(credentials.file("psk"), "\n", 0400);
    auto loaded = load_spoke_config(spoke_config(config, "psk = \"inline\"\n"));
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().to_string()));
    CHECK(loaded->strongswan.policy.auth.psk == "inline");
  }
}

}  // namespace
}  // namespace advpnd::app
