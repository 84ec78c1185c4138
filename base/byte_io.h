// Checked big-endian reader and writer over byte spans. Every read and write
// checks the bytes left first; nothing casts structs or integers over packet
// memory (see STYLE.md: "a checked byte reader/writer").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace advpnd {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> data) : data_(data) {}

  [[nodiscard]] std::size_t offset() const { return offset_; }
  [[nodiscard]] std::size_t remaining() const { return data_.size() - offset_; }
  [[nodiscard]] bool at_end() const { return offset_ == data_.size(); }

  [[nodiscard]] bool read_u8(std::uint8_t& out) {
    if (remaining() < 1) return false;
    out = std::to_integer<std::uint8_t>(data_[offset_]);
    offset_ += 1;
    return true;
  }
  [[nodiscard]] bool read_u16(std::uint16_t& out) {
    if (remaining() < 2) return false;
    out = static_cast<std::uint16_t>((std::to_integer<unsigned>(data_[offset_]) << 8) |
                                     std::to_integer<unsigned>(data_[offset_ + 1]));
    offset_ += 2;
    return true;
  }
  [[nodiscard]] bool read_u32(std::uint32_t& out) {
    if (remaining() < 4) return false;
    out = (std::to_integer<std::uint32_t>(data_[offset_]) << 24) |
          (std::to_integer<std::uint32_t>(data_[offset_ + 1]) << 16) |
          (std::to_integer<std::uint32_t>(data_[offset_ + 2]) << 8) |
          std::to_integer<std::uint32_t>(data_[offset_ + 3]);
    offset_ += 4;
    return true;
  }
  // A view of the next n bytes, consumed.
  [[nodiscard]] bool read_bytes(std::size_t n, std::span<const std::byte>& out) {
    if (remaining() < n) return false;
    out = data_.subspan(offset_, n);
    offset_ += n;
    return true;
  }
  [[nodiscard]] bool skip(std::size_t n) {
    if (remaining() < n) return false;
    offset_ += n;
    return true;
  }

 private:
  std::span<const std::byte> data_;
  std::size_t offset_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::span<std::byte> out) : out_(out) {}

  [[nodiscard]] std::size_t offset() const { return offset_; }
  [[nodiscard]] std::size_t remaining() const { return out_.size() - offset_; }
  // False once any write did not fit; later writes are ignored.
  [[nodiscard]] bool ok() const { return ok_; }

  void u8(std::uint8_t v) {
    if (!reserve(1)) return;
    out_[offset_++] = std::byte{v};
  }
  void u16(std::uint16_t v) {
    if (!reserve(2)) return;
    out_[offset_++] = std::byte{static_cast<std::uint8_t>(v >> 8)};
    out_[offset_++] = std::byte{static_cast<std::uint8_t>(v)};
  }
  void u32(std::uint32_t v) {
    if (!reserve(4)) return;
    out_[offset_++] = std::byte{static_cast<std::uint8_t>(v >> 24)};
    out_[offset_++] = std::byte{static_cast<std::uint8_t>(v >> 16)};
    out_[offset_++] = std::byte{static_cast<std::uint8_t>(v >> 8)};
    out_[offset_++] = std::byte{static_cast<std::uint8_t>(v)};
  }
  void bytes(std::span<const std::byte> data) {
    if (!reserve(data.size())) return;
    if (!data.empty()) std::memcpy(out_.data() + offset_, data.data(), data.size());
    offset_ += data.size();
  }
  void zeros(std::size_t n) {
    if (!reserve(n)) return;
    std::memset(out_.data() + offset_, 0, n);
    offset_ += n;
  }
  // Overwrites a 16-bit field already written (lengths and checksums known only at the end).
  void patch_u16(std::size_t at, std::uint16_t v) {
    if (at + 2 > offset_) {
      ok_ = false;
      return;
    }
    out_[at] = std::byte{static_cast<std::uint8_t>(v >> 8)};
    out_[at + 1] = std::byte{static_cast<std::uint8_t>(v)};
  }
  [[nodiscard]] std::span<std::byte> written() const { return out_.first(offset_); }

 private:
  bool reserve(std::size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::span<std::byte> out_;
  std::size_t offset_ = 0;
  bool ok_ = true;
};

}  // namespace advpnd
