// The VICI wire codec (message.h; strongSwan vici README "Transport
// protocol", "Packet layer", "Message format"). The decoder is iterative,
// with an explicit stack bounded by kMaxDepth, and checks each length
// against the bytes left before it reads (base/byte_io.h). The encoder
// measures and validates the whole tree first, then writes into a buffer of
// exactly that size.
#include <utility>

#include "base/byte_io.h"
#include "vici/message.h"

namespace advpnd::vici {
namespace {

void assign(std::string& out, std::span<const std::byte> bytes) {
  out.resize(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<char>(bytes[i]);
}

}  // namespace

// Builds the tree in place: it needs the entries of a Section it is filling.
class MessageDecoder {
 public:
  MessageDecoder(std::span<const std::byte> data, std::size_t base_offset) : reader_(data), base_(base_offset) {}

  Status<DecodeError> run(Section& root) {
    std::vector<Section*> stack{&root};
    Entry* list = nullptr;  // the list open in stack.back(), if any
    while (!reader_.at_end()) {
      const std::size_t at = here();
      std::uint8_t raw = 0;
      (void)reader_.read_u8(raw);  // at_end() was false: one byte is there
      const auto type = static_cast<ElementType>(raw);
      const bool in_list = list != nullptr;
      if (in_list && type != ElementType::ListItem && type != ElementType::ListEnd &&
          raw >= static_cast<std::uint8_t>(ElementType::SectionStart) &&
          raw <= static_cast<std::uint8_t>(ElementType::ListEnd)) {
        return fail(DecodeError{DecodeErrc::ElementInsideList, "element type", at, raw, 0});
      }
      auto& entries = stack.back()->entries_;
      switch (type) {
        case ElementType::SectionStart: {
          if (stack.size() > kMaxDepth) {
            return fail(DecodeError{DecodeErrc::TooDeep, "section start", at, stack.size(), kMaxDepth});
          }
          Entry entry;
          entry.kind = EntryKind::Section;
          if (auto s = read_name("section name", entry.name); !s) return s;
          entries.push_back(std::move(entry));
          // Stable while this section is open: nothing else is appended to `entries` meanwhile.
          stack.push_back(&entries.back().section);
          break;
        }
        case ElementType::SectionEnd:
          if (stack.size() == 1) return fail(DecodeError{DecodeErrc::UnbalancedSection, "section end", at, 0, 0});
          stack.pop_back();
          break;
        case ElementType::KeyValue: {
          Entry entry;
          entry.kind = EntryKind::Value;
          if (auto s = read_name("key name", entry.name); !s) return s;
          if (auto s = read_value("key value", entry.value); !s) return s;
          entries.push_back(std::move(entry));
          break;
        }
        case ElementType::ListStart: {
          Entry entry;
          entry.kind = EntryKind::List;
          if (auto s = read_name("list name", entry.name); !s) return s;
          entries.push_back(std::move(entry));
          list = &entries.back();
          break;
        }
        case ElementType::ListItem: {
          if (!in_list) return fail(DecodeError{DecodeErrc::ItemOutsideList, "list item", at, 0, 0});
          std::string item;
          if (auto s = read_value("list item", item); !s) return s;
          list->items.push_back(std::move(item));
          break;
        }
        case ElementType::ListEnd:
          if (!in_list) return fail(DecodeError{DecodeErrc::ItemOutsideList, "list end", at, 0, 0});
          list = nullptr;
          break;
        default:
          return fail(DecodeError{DecodeErrc::UnknownElementType, "element type", at, raw, 0});
      }
    }
    if (list != nullptr) return fail(DecodeError{DecodeErrc::UnclosedList, "list end", here(), 0, 0});
    if (stack.size() > 1) return fail(DecodeError{DecodeErrc::UnclosedSection, "section end", here(), 0, 0});
    return {};
  }

 private:
  [[nodiscard]] std::size_t here() const { return base_ + reader_.offset(); }

  // u8 length + bytes.
  Status<DecodeError> read_name(std::string_view field, std::string& out) {
    std::uint8_t length = 0;
    if (!reader_.read_u8(length)) return fail(DecodeError{DecodeErrc::Truncated, field, here(), 1, 0});
    return read_bytes(field, length, out);
  }
  // u16 big-endian length + bytes.
  Status<DecodeError> read_value(std::string_view field, std::string& out) {
    std::uint16_t length = 0;
    if (!reader_.read_u16(length)) {
      return fail(DecodeError{DecodeErrc::Truncated, field, here(), 2, reader_.remaining()});
    }
    return read_bytes(field, length, out);
  }
  Status<DecodeError> read_bytes(std::string_view field, std::size_t length, std::string& out) {
    const std::size_t at = here();
    std::span<const std::byte> bytes;
    if (!reader_.read_bytes(length, bytes)) {
      return fail(DecodeError{DecodeErrc::Truncated, field, at, length, reader_.remaining()});
    }
    assign(out, bytes);
    return {};
  }

  ByteReader reader_;
  std::size_t base_;
};

namespace {

Result<Message, DecodeError> decode_message_at(std::span<const std::byte> data, std::size_t base) {
  Message message;
  MessageDecoder decoder(data, base);
  if (auto status = decoder.run(message); !status) return fail(status.error());
  return message;
}

Result<Packet, DecodeError> decode_packet_at(std::span<const std::byte> data, std::size_t base) {
  ByteReader reader(data);
  std::uint8_t raw = 0;
  if (!reader.read_u8(raw)) return fail(DecodeError{DecodeErrc::EmptyPacket, "packet type", base, 1, 0});
  if (raw > static_cast<std::uint8_t>(PacketType::Event)) {
    return fail(DecodeError{DecodeErrc::UnknownPacketType, "packet type", base, raw, 0});
  }
  Packet packet;
  packet.type = static_cast<PacketType>(raw);
  if (has_name(packet.type)) {
    std::uint8_t length = 0;
    if (!reader.read_u8(length)) {
      return fail(DecodeError{DecodeErrc::Truncated, "packet name length", base + reader.offset(), 1, 0});
    }
    std::span<const std::byte> name;
    const std::size_t at = base + reader.offset();
    if (!reader.read_bytes(length, name)) {
      return fail(DecodeError{DecodeErrc::Truncated, "packet name", at, length, reader.remaining()});
    }
    assign(packet.name, name);
  }
  const std::size_t rest_at = reader.offset();
  const auto rest = data.subspan(rest_at);
  if (has_message(packet.type)) {
    auto message = decode_message_at(rest, base + rest_at);
    if (!message) return fail(message.error());
    packet.message = std::move(message).value();
  } else if (!rest.empty()) {
    return fail(DecodeError{DecodeErrc::TrailingBytes, "packet body", base + rest_at, 0, rest.size()});
  }
  return packet;
}

}  // namespace

Result<Message, DecodeError> decode_message(std::span<const std::byte> data) { return decode_message_at(data, 0); }

Result<Packet, DecodeError> decode_packet(std::span<const std::byte> packet) { return decode_packet_at(packet, 0); }

Result<std::optional<DecodedFrame>, DecodeError> decode_frame(std::span<const std::byte> stream) {
  ByteReader reader(stream);
  std::uint32_t length = 0;
  if (!reader.read_u32(length)) return std::optional<DecodedFrame>{};
  if (length == 0) return fail(DecodeError{DecodeErrc::EmptyPacket, "frame length", 0, 1, 0});
  if (length > kMaxPacketSize) {
    return fail(DecodeError{DecodeErrc::PacketTooLarge, "frame length", 0, length, kMaxPacketSize});
  }
  std::span<const std::byte> body;
  if (!reader.read_bytes(length, body)) return std::optional<DecodedFrame>{};
  auto packet = decode_packet_at(body, kLengthPrefixSize);
  if (!packet) return fail(packet.error());
  return std::optional<DecodedFrame>{DecodedFrame{std::move(packet).value(), kLengthPrefixSize + length}};
}

// --- Encoding ----------------------------------------------------------------

namespace {

Result<std::size_t, EncodeError> measure(const Section& section, std::size_t depth) {
  std::size_t size = 0;
  for (const auto& entry : section.entries()) {
    if (entry.name.size() > kMaxNameSize) return fail(EncodeError{EncodeErrc::NameTooLong, entry.name});
    size += 2 + entry.name.size();  // type, u8 length, name
    switch (entry.kind) {
      case EntryKind::Value:
        if (entry.value.size() > kMaxValueSize) return fail(EncodeError{EncodeErrc::ValueTooLong, entry.name});
        size += 2 + entry.value.size();
        break;
      case EntryKind::List:
        for (const auto& item : entry.items) {
          if (item.size() > kMaxValueSize) return fail(EncodeError{EncodeErrc::ValueTooLong, entry.name});
          size += 3 + item.size();
        }
        size += 1;  // LIST_END
        break;
      case EntryKind::Section: {
        if (depth + 1 > kMaxDepth) return fail(EncodeError{EncodeErrc::TooDeep, entry.name});
        auto inner = measure(entry.section, depth + 1);
        if (!inner) return inner;
        size += *inner + 1;  // SECTION_END
        break;
      }
    }
    // Stop early on absurd trees instead of summing past the limit.
    if (size > kMaxPacketSize) return fail(EncodeError{EncodeErrc::PacketTooLarge, entry.name});
  }
  return size;
}

void write_bytes(ByteWriter& out, std::string_view bytes) {
  out.bytes(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

void write_name(ByteWriter& out, ElementType type, std::string_view name) {
  out.u8(static_cast<std::uint8_t>(type));
  out.u8(static_cast<std::uint8_t>(name.size()));
  write_bytes(out, name);
}

void write_value(ByteWriter& out, std::string_view value) {
  out.u16(static_cast<std::uint16_t>(value.size()));
  write_bytes(out, value);
}

// Depth was bounded by measure().
void write_section(ByteWriter& out, const Section& section) {
  for (const auto& entry : section.entries()) {
    switch (entry.kind) {
      case EntryKind::Value:
        write_name(out, ElementType::KeyValue, entry.name);
        write_value(out, entry.value);
        break;
      case EntryKind::List:
        write_name(out, ElementType::ListStart, entry.name);
        for (const auto& item : entry.items) {
          out.u8(static_cast<std::uint8_t>(ElementType::ListItem));
          write_value(out, item);
        }
        out.u8(static_cast<std::uint8_t>(ElementType::ListEnd));
        break;
      case EntryKind::Section:
        write_name(out, ElementType::SectionStart, entry.name);
        write_section(out, entry.section);
        out.u8(static_cast<std::uint8_t>(ElementType::SectionEnd));
        break;
    }
  }
}

}  // namespace

Result<std::vector<std::byte>, EncodeError> encode_message(const Message& message) {
  auto size = measure(message, 0);
  if (!size) return fail(size.error());
  std::vector<std::byte> bytes(*size);
  ByteWriter out(bytes);
  write_section(out, message);
  return bytes;  // out.ok(): the buffer has exactly the measured size
}

Result<std::vector<std::byte>, EncodeError> encode_frame(const Packet& packet) {
  if (!has_name(packet.type) && !packet.name.empty()) {
    return fail(EncodeError{EncodeErrc::UnexpectedName, packet.name});
  }
  if (!has_message(packet.type) && !packet.message.empty()) {
    return fail(EncodeError{EncodeErrc::UnexpectedMessage, packet.name});
  }
  if (packet.name.size() > kMaxNameSize) return fail(EncodeError{EncodeErrc::NameTooLong, packet.name});
  auto message_size = measure(packet.message, 0);
  if (!message_size) return fail(message_size.error());
  const std::size_t packet_size = 1 + (has_name(packet.type) ? 1 + packet.name.size() : 0) + *message_size;
  if (packet_size > kMaxPacketSize) return fail(EncodeError{EncodeErrc::PacketTooLarge, packet.name});

  std::vector<std::byte> bytes(kLengthPrefixSize + packet_size);
  ByteWriter out(bytes);
  out.u32(static_cast<std::uint32_t>(packet_size));
  out.u8(static_cast<std::uint8_t>(packet.type));
  if (has_name(packet.type)) {
    out.u8(static_cast<std::uint8_t>(packet.name.size()));
    write_bytes(out, packet.name);
  }
  write_section(out, packet.message);
  return bytes;
}

}  // namespace advpnd::vici
