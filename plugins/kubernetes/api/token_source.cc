#include "plugins/kubernetes/api/token_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "server/common/log.h"

namespace petdns::plugins::kubernetes::api {

TokenSource::TokenSource(std::string static_token, std::string token_file,
                         std::chrono::milliseconds refresh)
    : token_(std::move(static_token)), file_(std::move(token_file)), refresh_(refresh) {}

const std::string& TokenSource::Get(Clock::time_point now) {
  if (file_.empty() || (!stale_ && now - last_read_ < refresh_)) return token_;
  stale_ = false;
  last_read_ = now;
  std::ifstream in(file_, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (!in || token.empty()) {
    if (!last_read_failed_) {
      log::Warning("plugin/kubernetes",
                   "cannot read token file " + file_ +
                       (in ? std::string(": empty") : ": " + std::string(std::strerror(errno))) +
                       "; keeping the previous token");
    }
    last_read_failed_ = true;
    return token_;
  }
  if (last_read_failed_) log::Info("plugin/kubernetes", "token file " + file_ + " readable again");
  last_read_failed_ = false;
  token_ = std::move(token);
  return token_;
}

}  // namespace petdns::plugins::kubernetes::api
