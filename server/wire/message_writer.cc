#include "server/wire/message_writer.h"

#include <algorithm>
#include <cstring>

namespace petdns::wire {
namespace {

constexpr char ToLower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

// Length of the uncompressed wire name at the start of `bytes`, or 0 if it does not end in bounds.
size_t WireNameLength(std::span<const uint8_t> bytes) noexcept {
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint8_t label = bytes[pos];
    if (label == 0) return pos + 1;
    if (label > kMaxLabelLength) return 0;
    pos += 1 + label;
  }
  return 0;
}

}  // namespace

MessageWriter::MessageWriter(std::span<uint8_t> buffer) noexcept
    : buffer_(buffer), limit_(std::min(buffer.size(), kMaxMessageSize)) {}

void MessageWriter::BeginHeaderOnly(uint16_t id, uint16_t request_flags) noexcept {
  size_ = kHeaderSize;
  counts_ = {};
  compression_entries_ = 0;
  extended_rcode_ = 0;
  reserved_ = 0;
  uint16_t out_flags =
      flags::kQr | (request_flags & (flags::kOpcodeMask | flags::kRd | flags::kCd));
  WriteU16(buffer_.data(), id);
  WriteU16(buffer_.data() + 2, out_flags);
  std::memset(buffer_.data() + 4, 0, 8);
}

void MessageWriter::BeginResponse(const Request& request) noexcept {
  BeginHeaderOnly(request.id, request.flags);
  if (!request.has_question) return;
  if (!Fits(size_t{request.qname.length} + 4)) return;
  // The question as received, uncompressed, with the client's case.
  std::memcpy(buffer_.data() + kHeaderSize, request.qname.bytes.data(), request.qname.length);
  WriteU16(buffer_.data() + kHeaderSize + request.qname.length,
           static_cast<uint16_t>(request.qtype));
  WriteU16(buffer_.data() + kHeaderSize + request.qname.length + 2, request.qclass);
  size_ = kHeaderSize + request.qname.length + 4;
  WriteU16(buffer_.data() + 4, 1);
  // Every label start of the question name is a compression target; offset 12 is QNAME itself.
  size_t pos = kHeaderSize;
  while (buffer_[pos] != 0 && compression_entries_ < kMaxCompressionEntries) {
    compression_[compression_entries_++] = static_cast<uint16_t>(pos);
    pos += 1 + buffer_[pos];
  }
}

void MessageWriter::SetLimit(size_t limit) noexcept {
  limit_ = std::min({limit, buffer_.size(), kMaxMessageSize});
}

void MessageWriter::SetFlags(uint16_t mask) noexcept {
  WriteU16(buffer_.data() + 2, ReadU16(buffer_.data() + 2) | mask);
}

void MessageWriter::ClearFlags(uint16_t mask) noexcept {
  WriteU16(buffer_.data() + 2, ReadU16(buffer_.data() + 2) & ~mask);
}

void MessageWriter::SetRcode(Rcode rcode) noexcept {
  uint16_t value = static_cast<uint16_t>(rcode);
  uint16_t header = ReadU16(buffer_.data() + 2) & ~flags::kRcodeMask;
  WriteU16(buffer_.data() + 2, header | (value & flags::kRcodeMask));
  extended_rcode_ = value >> 4;
}

bool MessageWriter::WriteBytes(const void* data, size_t length) noexcept {
  if (!Fits(length)) return false;
  std::memcpy(buffer_.data() + size_, data, length);
  size_ += length;
  return true;
}

bool MessageWriter::PacketNameEquals(size_t offset, std::string_view suffix) const noexcept {
  size_t pos = offset;
  size_t s = 0;
  for (int hops = 0; hops < 64;) {
    uint8_t label = buffer_[pos];
    if ((label & 0xC0) == 0xC0) {
      pos = (size_t{label & 0x3Fu} << 8) | buffer_[pos + 1];
      ++hops;
      continue;
    }
    if (s >= suffix.size() || static_cast<uint8_t>(suffix[s]) != label) return false;
    if (label == 0) return true;
    for (size_t i = 1; i <= label; ++i) {
      if (ToLower(static_cast<char>(buffer_[pos + i])) != ToLower(suffix[s + i])) return false;
    }
    pos += 1 + label;
    s += 1 + label;
  }
  return false;
}

bool MessageWriter::WriteName(std::string_view name, bool compress) noexcept {
  // Find the longest suffix of `name` already in the packet, label by label from the left.
  size_t label_pos = 0;
  size_t pointer_target = 0;
  bool found = false;
  if (compress) {
    while (label_pos < name.size() && name[label_pos] != 0) {
      std::string_view suffix = name.substr(label_pos);
      for (size_t i = 0; i < compression_entries_; ++i) {
        if (PacketNameEquals(compression_[i], suffix)) {
          pointer_target = compression_[i];
          found = true;
          break;
        }
      }
      if (found) break;
      label_pos += 1 + static_cast<uint8_t>(name[label_pos]);
    }
  } else {
    label_pos = name.size() - 1;  // everything but the root label is literal
  }
  size_t literal = found ? label_pos : name.size();
  size_t needed = literal + (found ? 2 : 0);
  if (!Fits(needed)) return false;
  size_t start = size_;
  std::memcpy(buffer_.data() + size_, name.data(), literal);
  size_ += literal;
  if (found) {
    WriteU16(buffer_.data() + size_, static_cast<uint16_t>(0xC000 | pointer_target));
    size_ += 2;
  }
  // The labels just written become targets for later names (offsets must fit in 14 bits).
  if (compress) {
    size_t pos = 0;
    while (pos < label_pos && name[pos] != 0 && compression_entries_ < kMaxCompressionEntries &&
           start + pos < 0x3FFF) {
      compression_[compression_entries_++] = static_cast<uint16_t>(start + pos);
      pos += 1 + static_cast<uint8_t>(name[pos]);
    }
  }
  return true;
}

bool MessageWriter::WriteRdata(RrType type, std::span<const uint8_t> rdata) noexcept {
  auto as_name = [](std::span<const uint8_t> bytes) {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), WireNameLength(bytes));
  };
  switch (type) {
    case RrType::kNs:
    case RrType::kCname:
    case RrType::kPtr: {
      std::string_view target = as_name(rdata);
      if (target.size() != rdata.size()) break;  // not a lone name: copy as opaque bytes
      return WriteName(target, true);
    }
    case RrType::kMx: {
      if (rdata.size() < 3) break;
      std::string_view exchange = as_name(rdata.subspan(2));
      if (exchange.size() + 2 != rdata.size()) break;
      return WriteBytes(rdata.data(), 2) && WriteName(exchange, true);
    }
    case RrType::kSoa: {
      std::string_view mname = as_name(rdata);
      if (mname.empty()) break;
      std::string_view rname = as_name(rdata.subspan(mname.size()));
      if (rname.empty() || mname.size() + rname.size() + 20 != rdata.size()) break;
      return WriteName(mname, true) && WriteName(rname, true) &&
             WriteBytes(rdata.data() + mname.size() + rname.size(), 20);
    }
    default:
      break;
  }
  return WriteBytes(rdata.data(), rdata.size());
}

bool MessageWriter::AppendRecord(Section section, std::string_view owner, RrType type,
                                 uint16_t rclass, uint32_t ttl,
                                 std::span<const uint8_t> rdata) noexcept {
  Checkpoint before = Mark();
  uint8_t fixed[10];
  WriteU16(fixed, static_cast<uint16_t>(type));
  WriteU16(fixed + 2, rclass);
  WriteU32(fixed + 4, ttl);
  if (!WriteName(owner, true) || !WriteBytes(fixed, 10)) {
    Rollback(before);
    return false;
  }
  size_t rdlength_at = size_ - 2;
  size_t rdata_start = size_;
  if (!WriteRdata(type, rdata)) {
    Rollback(before);
    return false;
  }
  WriteU16(buffer_.data() + rdlength_at, static_cast<uint16_t>(size_ - rdata_start));
  ++counts_[static_cast<int>(section)];
  StoreCounts();
  return true;
}

bool MessageWriter::AppendEncoded(std::span<const uint8_t> records,
                                  const std::array<uint16_t, 3>& counts) noexcept {
  if (!WriteBytes(records.data(), records.size())) return false;
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] = static_cast<uint16_t>(counts_[i] + counts[i]);
  StoreCounts();
  return true;
}

bool MessageWriter::AppendOpt(uint16_t udp_payload, bool dnssec_ok) noexcept {
  uint8_t opt[kOptRecordSize] = {0};  // root owner
  WriteU16(opt + 1, static_cast<uint16_t>(RrType::kOpt));
  WriteU16(opt + 3, udp_payload);
  opt[5] = static_cast<uint8_t>(extended_rcode_);
  opt[6] = 0;  // version 0
  WriteU16(opt + 7, dnssec_ok ? kEdnsDoBit : 0);
  WriteU16(opt + 9, 0);  // no options
  size_t held = std::min(reserved_, kOptRecordSize);
  reserved_ -= held;
  if (!WriteBytes(opt, sizeof(opt))) {
    reserved_ += held;
    return false;
  }
  ++counts_[static_cast<int>(Section::kAdditional)];
  StoreCounts();
  return true;
}

MessageWriter::Checkpoint MessageWriter::Mark() const noexcept {
  return Checkpoint{size_, counts_, compression_entries_};
}

void MessageWriter::Rollback(const Checkpoint& checkpoint) noexcept {
  size_ = checkpoint.size;
  counts_ = checkpoint.counts;
  compression_entries_ = checkpoint.compression_entries;
  StoreCounts();
}

void MessageWriter::StoreCounts() noexcept {
  WriteU16(buffer_.data() + 6, counts_[0]);
  WriteU16(buffer_.data() + 8, counts_[1]);
  WriteU16(buffer_.data() + 10, counts_[2]);
}

}  // namespace petdns::wire
