// Builds a DNS response into a caller-owned buffer: header, echoed question, records with name
// compression, and the OPT record. A record that would pass the size limit is refused (nothing
// written), and Checkpoint/Rollback undo partial RRsets, so callers truncate at RRset boundaries.
// No allocation; one writer per message, used on one thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "server/wire/dns.h"
#include "server/wire/request.h"

namespace petdns::wire {

enum class Section : uint8_t { kAnswer = 0, kAuthority = 1, kAdditional = 2 };

class MessageWriter {
 public:
  struct Checkpoint {
    size_t size;
    std::array<uint16_t, 3> counts;
    size_t compression_entries;
  };

  explicit MessageWriter(std::span<uint8_t> buffer) noexcept;

  // Starts a response to `request`: ID and opcode copied, QR set, RD and CD copied, and the
  // question written back as received (uncompressed, in the client's case) when it was readable.
  void BeginResponse(const Request& request) noexcept;
  // Starts an empty message with just a header (for FORMERR to an unreadable question).
  void BeginHeaderOnly(uint16_t id, uint16_t request_flags) noexcept;

  // The size the message may not exceed; bytes held back with Reserve() count against it.
  void SetLimit(size_t limit) noexcept;
  size_t limit() const noexcept { return limit_; }
  // Holds back `bytes` of the limit (the OPT record is added last but must always fit).
  void Reserve(size_t bytes) noexcept { reserved_ += bytes; }
  void Unreserve(size_t bytes) noexcept { reserved_ -= bytes; }

  void SetFlags(uint16_t mask) noexcept;
  void ClearFlags(uint16_t mask) noexcept;
  // Sets the header's 4-bit rcode; the upper bits go into the OPT record (AppendOpt).
  void SetRcode(Rcode rcode) noexcept;

  // Appends one record. `owner` and names inside `rdata` are uncompressed wire names; the owner and
  // the names of NS, CNAME, PTR, MX and SOA rdata are compressed (RFC 3597 §4). Returns false and
  // leaves the message as it was when the record does not fit.
  [[nodiscard]] bool AppendRecord(Section section, std::string_view owner, RrType type,
                                  uint16_t rclass, uint32_t ttl,
                                  std::span<const uint8_t> rdata) noexcept;

  // Appends records encoded ahead of time for this question (zones::PrecompiledAnswer): `counts`
  // per section. Valid only right after BeginResponse with a question of the length they were
  // encoded for, since their compression pointers point into it. Returns false when they do not
  // fit, writing nothing.
  [[nodiscard]] bool AppendEncoded(std::span<const uint8_t> records,
                                   const std::array<uint16_t, 3>& counts) noexcept;

  // Appends the OPT record (RFC 6891) with our payload size, the extended rcode bits of the
  // rcode set earlier, and the DO bit. Uses the reserved room.
  [[nodiscard]] bool AppendOpt(uint16_t udp_payload, bool dnssec_ok) noexcept;

  Checkpoint Mark() const noexcept;
  void Rollback(const Checkpoint& checkpoint) noexcept;

  uint16_t Count(Section section) const noexcept { return counts_[static_cast<int>(section)]; }
  size_t size() const noexcept { return size_; }
  std::span<const uint8_t> Message() const noexcept { return {buffer_.data(), size_}; }

 private:
  bool WriteName(std::string_view name, bool compress) noexcept;
  bool WriteRdata(RrType type, std::span<const uint8_t> rdata) noexcept;
  bool WriteBytes(const void* data, size_t length) noexcept;
  bool Fits(size_t length) const noexcept { return size_ + length + reserved_ <= limit_; }
  // Whether the name written at `offset` in the buffer equals the wire name `suffix`.
  bool PacketNameEquals(size_t offset, std::string_view suffix) const noexcept;
  void StoreCounts() noexcept;

  static constexpr size_t kMaxCompressionEntries = 96;

  std::span<uint8_t> buffer_;
  size_t size_ = 0;
  size_t limit_ = 0;
  size_t reserved_ = 0;
  uint16_t extended_rcode_ = 0;
  std::array<uint16_t, 3> counts_{};
  // Offsets of name starts already in the packet, usable as compression targets.
  std::array<uint16_t, kMaxCompressionEntries> compression_{};
  size_t compression_entries_ = 0;
};

}  // namespace petdns::wire
