// The VICI message tree (message.h): builders, look-ups, equality, names
// of the enums and a text rendering for logs. The wire codec is in
// message_codec.cpp.
#include "vici/message.h"

#include <charconv>
#include <utility>

#include "base/field_error.h"

namespace advpnd::vici {

Section::Section(const Section&) = default;
Section::Section(Section&&) noexcept = default;
Section& Section::operator=(const Section&) = default;
Section& Section::operator=(Section&&) noexcept = default;
Section::~Section() = default;

Section& Section::add(std::string key, std::string value) {
  Entry entry;
  entry.kind = EntryKind::Value;
  entry.name = std::move(key);
  entry.value = std::move(value);
  entries_.push_back(std::move(entry));
  return *this;
}

Section& Section::add_list(std::string key, std::vector<std::string> items) {
  Entry entry;
  entry.kind = EntryKind::List;
  entry.name = std::move(key);
  entry.items = std::move(items);
  entries_.push_back(std::move(entry));
  return *this;
}

Section& Section::add_section(std::string name, Section section) {
  Entry entry;
  entry.kind = EntryKind::Section;
  entry.name = std::move(name);
  entry.section = std::move(section);
  entries_.push_back(std::move(entry));
  return *this;
}

namespace {

const Entry* find_entry(const std::vector<Entry>& entries, std::string_view name, EntryKind kind) {
  for (const auto& entry : entries) {
    if (entry.kind == kind && entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace

const std::string* Section::find_value(std::string_view key) const {
  const Entry* entry = find_entry(entries_, key, EntryKind::Value);
  return entry != nullptr ? &entry->value : nullptr;
}

const std::vector<std::string>* Section::find_list(std::string_view key) const {
  const Entry* entry = find_entry(entries_, key, EntryKind::List);
  return entry != nullptr ? &entry->items : nullptr;
}

const Section* Section::find_section(std::string_view name) const {
  const Entry* entry = find_entry(entries_, name, EntryKind::Section);
  return entry != nullptr ? &entry->section : nullptr;
}

std::string Section::value_or(std::string_view key, std::string_view fallback) const {
  const std::string* value = find_value(key);
  return value != nullptr ? *value : std::string(fallback);
}

std::optional<std::uint64_t> Section::find_number(std::string_view key) const {
  const std::string* value = find_value(key);
  if (value == nullptr || value->empty()) return std::nullopt;
  std::uint64_t number = 0;
  const char* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, number);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return number;
}

bool Section::find_bool(std::string_view key) const {
  const std::string* value = find_value(key);
  return value != nullptr && (*value == "yes" || *value == "true" || *value == "1");
}

bool operator==(const Section& a, const Section& b) { return a.entries_ == b.entries_; }

bool operator==(const Entry& a, const Entry& b) {
  return a.kind == b.kind && a.name == b.name && a.value == b.value && a.items == b.items && a.section == b.section;
}

bool operator==(const Packet& a, const Packet& b) {
  return a.type == b.type && a.name == b.name && a.message == b.message;
}

std::string_view to_string(PacketType type) {
  switch (type) {
    case PacketType::CmdRequest: return "CMD_REQUEST";
    case PacketType::CmdResponse: return "CMD_RESPONSE";
    case PacketType::CmdUnknown: return "CMD_UNKNOWN";
    case PacketType::EventRegister: return "EVENT_REGISTER";
    case PacketType::EventUnregister: return "EVENT_UNREGISTER";
    case PacketType::EventConfirm: return "EVENT_CONFIRM";
    case PacketType::EventUnknown: return "EVENT_UNKNOWN";
    case PacketType::Event: return "EVENT";
  }
  return "UNKNOWN";
}

bool has_name(PacketType type) {
  return type == PacketType::CmdRequest || type == PacketType::EventRegister ||
         type == PacketType::EventUnregister || type == PacketType::Event;
}

bool has_message(PacketType type) {
  return type == PacketType::CmdRequest || type == PacketType::CmdResponse || type == PacketType::Event;
}

std::string_view to_string(DecodeErrc code) {
  switch (code) {
    case DecodeErrc::Truncated: return "truncated";
    case DecodeErrc::EmptyPacket: return "empty packet";
    case DecodeErrc::PacketTooLarge: return "packet too large";
    case DecodeErrc::UnknownPacketType: return "unknown packet type";
    case DecodeErrc::UnknownElementType: return "unknown element type";
    case DecodeErrc::TooDeep: return "sections nested too deep";
    case DecodeErrc::UnbalancedSection: return "section end without a section";
    case DecodeErrc::UnclosedSection: return "section not closed";
    case DecodeErrc::UnclosedList: return "list not closed";
    case DecodeErrc::ItemOutsideList: return "list element outside a list";
    case DecodeErrc::ElementInsideList: return "element inside a list";
    case DecodeErrc::TrailingBytes: return "trailing bytes";
  }
  return "unknown";
}

std::string DecodeError::message() const {
  std::string text = field_error_text(to_string(code), field, offset);
  switch (code) {
    case DecodeErrc::Truncated:
      text += shortfall_text(needed, available);
      break;
    case DecodeErrc::PacketTooLarge:
    case DecodeErrc::TooDeep:
      text += ": " + std::to_string(needed) + " exceeds the limit of " + std::to_string(available);
      break;
    case DecodeErrc::UnknownPacketType:
    case DecodeErrc::UnknownElementType:
      text += ": " + std::to_string(needed);
      break;
    case DecodeErrc::TrailingBytes:
      text += ": " + std::to_string(available) + " bytes";
      break;
    default:
      break;
  }
  return text;
}

std::string_view to_string(EncodeErrc code) {
  switch (code) {
    case EncodeErrc::NameTooLong: return "name longer than 255 bytes";
    case EncodeErrc::ValueTooLong: return "value longer than 65535 bytes";
    case EncodeErrc::TooDeep: return "sections nested too deep";
    case EncodeErrc::PacketTooLarge: return "packet larger than 512 KiB";
    case EncodeErrc::UnexpectedName: return "name on a packet type without one";
    case EncodeErrc::UnexpectedMessage: return "message on a packet type without one";
  }
  return "unknown";
}

std::string EncodeError::message() const {
  std::string text(to_string(code));
  if (!name.empty()) text += " ('" + name.substr(0, 64) + "')";
  return text;
}

namespace {

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
}

void append_section(std::string& out, const Section& section) {
  out += '{';
  bool first = true;
  for (const auto& entry : section.entries()) {
    if (!first) out += ' ';
    first = false;
    append_escaped(out, entry.name);
    switch (entry.kind) {
      case EntryKind::Value:
        out += '=';
        append_escaped(out, entry.value);
        break;
      case EntryKind::List: {
        out += "=[";
        for (std::size_t i = 0; i < entry.items.size(); ++i) {
          if (i > 0) out += ", ";
          append_escaped(out, entry.items[i]);
        }
        out += ']';
        break;
      }
      case EntryKind::Section:
        append_section(out, entry.section);
        break;
    }
  }
  out += '}';
}

}  // namespace

std::string to_text(const Section& section) {
  std::string out;
  append_section(out, section);
  return out;
}

}  // namespace advpnd::vici
