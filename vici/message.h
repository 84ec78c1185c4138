// The VICI message model and its codec (strongSwan's vici plugin README,
// "Transport protocol", "Packet layer" and "Message format"):
//
//   frame   = u32 length (big-endian, excludes itself, <= 512 KiB) + packet
//   packet  = u8 type [+ u8 name length + name  (types 0, 3, 4, 7)]
//             [+ message                        (types 0, 1, 7)]
//   message = element*
//   element = 1 SECTION_START u8-name | 2 SECTION_END
//           | 3 KEY_VALUE u8-name u16-value | 4 LIST_START u8-name
//           | 5 LIST_ITEM u16-value | 6 LIST_END
//
// A message is a tree: its root section holds key/values, lists and
// sub-sections in the order they were added (the README notes that order
// matters in some trees, so nothing here sorts). Every value is a byte
// string; charon sends numbers as decimal text.
//
// Decoding is strict and bounds-checked: every length is compared with the
// bytes left before anything is read, sections and lists must balance,
// lists hold only items and do not nest, nesting stops at kMaxDepth, and a
// packet type that carries no message must carry no bytes after its name.
// Errors are values naming the field and the offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace advpnd::vici {

// README "Transport protocol": "The maximum segment length is currently limited to 512KB".
inline constexpr std::size_t kMaxPacketSize = 512 * 1024;
inline constexpr std::size_t kLengthPrefixSize = 4;
// Our bound, not charon's (its parser has none): list-sas nests three deep.
inline constexpr std::size_t kMaxDepth = 32;
inline constexpr std::size_t kMaxNameSize = 0xff;     // u8 length
inline constexpr std::size_t kMaxValueSize = 0xffff;  // u16 length

// README "Packet layer".
enum class PacketType : std::uint8_t {
  CmdRequest = 0,
  CmdResponse = 1,
  CmdUnknown = 2,
  EventRegister = 3,
  EventUnregister = 4,
  EventConfirm = 5,
  EventUnknown = 6,
  Event = 7,
};
[[nodiscard]] std::string_view to_string(PacketType type);
// Types 0, 3, 4 and 7 are "named".
[[nodiscard]] bool has_name(PacketType type);
// "Messages are currently used in CMD_REQUEST/CMD_RESPONSE, and in EVENT packets."
[[nodiscard]] bool has_message(PacketType type);

// README "Message format".
enum class ElementType : std::uint8_t {
  SectionStart = 1,
  SectionEnd = 2,
  KeyValue = 3,
  ListStart = 4,
  ListItem = 5,
  ListEnd = 6,
};

struct Entry;

// A section (or a message: its implicit root section). Builders append in
// order and return *this so that calls chain.
class Section {
 public:
  Section() = default;
  Section(const Section&);
  Section(Section&&) noexcept;
  Section& operator=(const Section&);
  Section& operator=(Section&&) noexcept;
  ~Section();

  Section& add(std::string key, std::string value);
  Section& add_list(std::string key, std::vector<std::string> items);
  Section& add_section(std::string name, Section section);

  // The first entry of that name and kind, or nullptr.
  [[nodiscard]] const std::string* find_value(std::string_view key) const;
  [[nodiscard]] const std::vector<std::string>* find_list(std::string_view key) const;
  [[nodiscard]] const Section* find_section(std::string_view name) const;
  // The value, or `fallback` when absent.
  [[nodiscard]] std::string value_or(std::string_view key, std::string_view fallback = {}) const;
  // A decimal value; nullopt when absent or not a number that fits.
  [[nodiscard]] std::optional<std::uint64_t> find_number(std::string_view key) const;
  // VICI booleans are "yes"/"no" (also "true"/"1" as charon's get_bool accepts).
  [[nodiscard]] bool find_bool(std::string_view key) const;

  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
  [[nodiscard]] bool empty() const;

  friend bool operator==(const Section& a, const Section& b);

 private:
  friend class MessageDecoder;
  std::vector<Entry> entries_;
};

using Message = Section;

enum class EntryKind : std::uint8_t { Value, List, Section };

struct Entry {
  EntryKind kind = EntryKind::Value;
  std::string name;
  std::string value;               // kind == Value
  std::vector<std::string> items;  // kind == List
  Section section;                 // kind == Section

  friend bool operator==(const Entry& a, const Entry& b);
};

// Defined here: std::vector members may be used only once Entry is complete.
inline bool Section::empty() const { return entries_.empty(); }

struct Packet {
  PacketType type = PacketType::CmdRequest;
  std::string name;  // command or event name; empty for unnamed types
  Message message;   // empty for types without a message

  friend bool operator==(const Packet& a, const Packet& b);
};

// --- Decoding ----------------------------------------------------------------

enum class DecodeErrc : std::uint8_t {
  Truncated,            // a length or value runs past the bytes available
  EmptyPacket,          // frame length 0: not even a type byte
  PacketTooLarge,       // frame length above kMaxPacketSize
  UnknownPacketType,    // type byte above 7
  UnknownElementType,   // element type 0 or above 6
  TooDeep,              // more than kMaxDepth sections open
  UnbalancedSection,    // SECTION_END with no section open
  UnclosedSection,      // message ends inside a section
  UnclosedList,         // message ends inside a list
  ItemOutsideList,      // LIST_ITEM or LIST_END with no list open
  ElementInsideList,    // anything but LIST_ITEM / LIST_END inside a list
  TrailingBytes,        // bytes after the name of a type that carries no message
};
[[nodiscard]] std::string_view to_string(DecodeErrc code);

struct DecodeError {
  DecodeErrc code = DecodeErrc::Truncated;
  std::string_view field;     // static text, e.g. "key-value length"
  std::size_t offset = 0;     // of that field, from the first byte given to the decoder
  std::size_t needed = 0;     // bytes the field needed (or the value found) ...
  std::size_t available = 0;  // ... and what there was (or the limit)
  // "truncated: key-value value at offset 12: needs 6 bytes, 2 left".
  [[nodiscard]] std::string message() const;
};

// One message (the bytes after the packet's type and name).
[[nodiscard]] Result<Message, DecodeError> decode_message(std::span<const std::byte> data);
// One packet: the bytes of a frame after its length prefix.
[[nodiscard]] Result<Packet, DecodeError> decode_packet(std::span<const std::byte> packet);

struct DecodedFrame {
  Packet packet;
  std::size_t size = 0;  // bytes consumed, length prefix included
};
// The first frame of a byte stream: nullopt while the prefix or the packet is
// still incomplete; an error as soon as the prefix is invalid (0 or above the
// limit: the stream cannot be resynchronised and must be closed).
[[nodiscard]] Result<std::optional<DecodedFrame>, DecodeError> decode_frame(std::span<const std::byte> stream);

// --- Encoding ----------------------------------------------------------------

enum class EncodeErrc : std::uint8_t {
  NameTooLong,         // a name above 255 bytes
  ValueTooLong,        // a value above 65535 bytes
  TooDeep,             // sections nested past kMaxDepth
  PacketTooLarge,      // the packet would exceed kMaxPacketSize
  UnexpectedName,      // a name on a type that has none
  UnexpectedMessage,   // a message on a type that carries none
};
[[nodiscard]] std::string_view to_string(EncodeErrc code);

struct EncodeError {
  EncodeErrc code = EncodeErrc::NameTooLong;
  std::string name;  // the offending name (or empty)
  [[nodiscard]] std::string message() const;
};

[[nodiscard]] Result<std::vector<std::byte>, EncodeError> encode_message(const Message& message);
// The whole frame: length prefix, type, name, message.
[[nodiscard]] Result<std::vector<std::byte>, EncodeError> encode_frame(const Packet& packet);

// A readable one-line rendering for logs and test failures:
// "{key1=value1 section1{list1=[item1, item2]}}". Bytes outside printable
// ASCII are shown as \xNN.
[[nodiscard]] std::string to_text(const Section& section);

}  // namespace advpnd::vici
