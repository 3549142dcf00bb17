#include "server/corefile/corefile.h"

namespace petdns::corefile {

std::string FormatIssue(const std::string& file, const Issue& issue) {
  return file + ":" + std::to_string(issue.line) + ": " + issue.subject + ": not converted (" +
         issue.reason + ")";
}

}  // namespace petdns::corefile
