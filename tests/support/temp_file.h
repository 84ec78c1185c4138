// A file path under the system temp directory, unique per process and call,
// removed (if it exists) when the object goes out of scope.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace advpnd::test {

class TempFile {
 public:
  explicit TempFile(std::string_view suffix = ".pcap") {
    static std::atomic<unsigned> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("advpnd-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + std::string(suffix)))
                .string();
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Plain stdio: g++-12's -Wnull-dereference misfires inside libstdc++'s
// stream buffers when istreambuf_iterator is inlined.
inline void write_file(const std::string& path, std::span<const std::byte> bytes) {
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
}

// Writes `text` to the file and returns its path (config files for loaders).
inline std::string write_text(const TempFile& file, std::string_view text) {
  write_file(file.path(), std::as_bytes(std::span(text.data(), text.size())));
  return file.path();
}

inline std::vector<std::byte> read_file(const std::string& path) {
  std::vector<std::byte> bytes;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::byte buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
    std::fclose(f);
  }
  return bytes;
}

inline std::string read_text_file(const std::string& path) {
  const auto bytes = read_file(path);
  std::string text(bytes.size(), '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) text[i] = static_cast<char>(bytes[i]);
  return text;
}

}  // namespace advpnd::test
