#include "tests/support/test_data.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace advpnd::test {

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::vector<std::byte> hex(std::string_view text) {
  std::vector<std::byte> out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    const int v = nibble(c);
    if (v < 0) {
      std::fprintf(stderr, "bad hex literal near '%c'\n", c);
      std::abort();
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::byte>((high << 4) | v));
      high = -1;
    }
  }
  if (high >= 0) {
    std::fprintf(stderr, "odd number of hex digits\n");
    std::abort();
  }
  return out;
}

std::string to_hex(const std::vector<std::byte>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out += (i % 16 == 0) ? '\n' : ' ';
    const auto v = std::to_integer<unsigned>(bytes[i]);
    out += kDigits[v >> 4];
    out += kDigits[v & 0xF];
  }
  return out;
}

std::string shared_capture(std::string_view name) {
  return std::string(ADVPND_SHARED_CAPTURES) + "/" + std::string(name);
}

namespace {
bool g_skipped = false;
}  // namespace

void report_skipped(const std::string& why) {
  g_skipped = true;
  std::printf("SKIPPED: %s\n", why.c_str());
}

bool skipped() { return g_skipped; }

bool have_shared_captures() {
  std::error_code ec;
  return std::filesystem::is_directory(ADVPND_SHARED_CAPTURES, ec);
}

}  // namespace advpnd::test
