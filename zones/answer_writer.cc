#include "zones/answer_writer.h"

namespace petdns::zones {
namespace {

using wire::Section;

bool AppendRRset(wire::MessageWriter& writer, Section section, const AnswerRRset& item) noexcept {
  auto mark = writer.Mark();
  for (std::string_view rdata : item.rrset->rdatas) {
    if (!writer.AppendRecord(section, item.owner, item.rrset->type, item.rrset->rclass, item.ttl,
                             RRset::Bytes(rdata))) {
      writer.Rollback(mark);
      return false;
    }
  }
  return true;
}

}  // namespace

bool WriteAnswerSections(wire::MessageWriter& writer, const Answer& answer) noexcept {
  bool truncated = false;
  for (const auto& item : answer.answer) {
    if (!AppendRRset(writer, Section::kAnswer, item)) {
      truncated = true;
      break;
    }
  }
  if (!truncated) {
    for (const auto& item : answer.authority) {
      if (!AppendRRset(writer, Section::kAuthority, item)) {
        truncated = true;
        break;
      }
    }
  }
  if (!truncated) {
    for (const auto& item : answer.additional) {
      if (!AppendRRset(writer, Section::kAdditional, item)) break;
    }
  }
  if (truncated) writer.SetFlags(wire::flags::kTc);
  return truncated;
}

}  // namespace petdns::zones
