// Encodes an Answer's sections into a response being built: the one place that decides how a
// lookup becomes records, shared by live replies (chain::Query::Reply) and by the answers a zone
// precompiles when it is built.
#pragma once

#include "server/wire/message_writer.h"
#include "zones/answer.h"

namespace petdns::zones {

// Appends answer, authority and additional RRsets. Answer and authority must arrive whole: the
// first RRset that does not fit is dropped with everything after it and TC is set (RFC 2181 §9);
// additional data that does not fit is left out without TC. Returns whether TC was set.
bool WriteAnswerSections(wire::MessageWriter& writer, const Answer& answer) noexcept;

}  // namespace petdns::zones
