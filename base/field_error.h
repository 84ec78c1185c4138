// The one wording of a decoder's refusal, shared by every decoder that
// names the field it refused (the NHRP codec, the VICI codec): "<what>:
// <field> at offset <n>", then the numbers. Keeping it in one place keeps
// log lines, `advpnd decode` output and test expectations alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace advpnd {

// "truncated: ar$extoff at offset 14"
[[nodiscard]] inline std::string field_error_text(std::string_view what, std::string_view field, std::size_t offset) {
  std::string text(what);
  text += ": ";
  text += field;
  text += " at offset ";
  text += std::to_string(offset);
  return text;
}

// ": needs 6 bytes, 2 left"
[[nodiscard]] inline std::string shortfall_text(std::size_t needed, std::size_t available) {
  return ": needs " + std::to_string(needed) + " bytes, " + std::to_string(available) + " left";
}

}  // namespace advpnd
