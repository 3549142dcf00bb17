// Keeps credentials out of log lines and error messages: URLs may carry a user and password
// ("https://user:secret@host"), and text from a server (an error body, a proxy's echo) may carry
// an Authorization header or a bearer token. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace petdns::http {

// "https://user:secret@host:443/api" → "https://REDACTED@host:443/api"; other URLs unchanged.
std::string RedactUrl(std::string_view url);

// Replaces what follows "Bearer " / "Basic " (any case) and the value of an "Authorization:"
// header with REDACTED.
std::string RedactCredentials(std::string_view text);

}  // namespace petdns::http
